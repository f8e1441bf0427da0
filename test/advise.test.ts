/** `miglab advise`: settings the model expects to meet a bound, and the small campaign that checks one. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCampaign } from '../campaign/builder.js';
import { loadCampaign } from '../campaign/load.js';
import { advise, checkAdvice, writeVerifyCampaign } from '../cli/advise.js';
import { UserError } from '../lib/errors.js';
import type { TrialRow } from '../workflows/trial-types.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-advise-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = writeCampaign(dir, {
  campaign: 'adv', bed: 'lab', vm: { memoryMiB: 256 },
  scenarios: [{ name: 'baseline', kind: 'baseline' }],
  migration: { bandwidthMiBps: 100, downtimeLimitMs: 300 },
});
const opts = { workingSetMiB: 48, rate: 'max' as const, pattern: 'seq' as const, guestBaseMiB: 40, idleDirtyMiBps: 0 };

describe('miglab advise', () => {
  it('offers only settings whose predicted DT and TMT meet the bound, fastest first', async () => {
    const a = await advise(file, { ...opts, maxDowntimeMs: 600 });
    const meeting = a.candidates.filter((c) => c.meets);
    expect(meeting.length).toBeGreaterThan(0);
    for (const c of meeting) expect(c.dtMs!).toBeLessThanOrEqual(600);
    // 48 MiB re-dirtied every pass: precopy converges only once bandwidth × limit ≥ 48 MiB
    for (const c of meeting.filter((x) => x.setting.mode === 'precopy')) expect(c.setting.bandwidthMiBps * (c.setting.downtimeLimitMs / 1000)).toBeGreaterThanOrEqual(48);
    const tmts = meeting.map((c) => c.tmtMs!);
    expect(tmts).toEqual([...tmts].sort((x, y) => x - y));
    // a setting that misses says why
    const miss = a.candidates.find((c) => c.setting.mode === 'precopy' && c.setting.bandwidthMiBps === 100 && c.setting.downtimeLimitMs === 300)!;
    expect(miss).toMatchObject({ meets: false, misses: ['does not converge'] });
  });

  it('needs a bound; a bound nothing meets leaves no setting to verify', async () => {
    await expect(advise(file, opts)).rejects.toBeInstanceOf(UserError);
    const a = await advise(file, { ...opts, maxDowntimeMs: 1, maxTotalS: 0.01 });
    expect(a.candidates.some((c) => c.meets)).toBe(false);
    expect(() => writeVerifyCampaign(file, {}, a, opts, 3)).toThrow(UserError);
  });

  it('writes the verify campaign beside the original with the best setting, a valid campaign file', async () => {
    const a = await advise(file, { ...opts, maxDowntimeMs: 600 });
    const best = a.candidates.find((c) => c.meets)!;
    const out = writeVerifyCampaign(file, parse(readFileSync(file, 'utf8')), a, opts, 2);
    const { spec } = await loadCampaign(out);
    expect(spec).toMatchObject({ campaign: 'adv-advice', repetitions: 2, fallback: 'none', scenarios: [{ kind: 'dirty-ramp', workingSetsMiB: [48] }] });
    expect(spec.migration).toMatchObject({ bandwidthMiBps: best.setting.bandwidthMiBps, downtimeLimitMs: best.setting.downtimeLimitMs });
  });

  it('checks the verify rows against the bound by the hypervisor downtime and the probe', () => {
    const row = (id: string, tmt: number, dtq: number, dtp: number): TrialRow => ({
      trialId: id, src: 'a', dst: 'b', workingSetMiB: 48, outcome: { kind: 'converged', attempt: 0, step: 'precopy' }, probe: null, dirtyRateMiBps: null, memory: null, attempts: [],
      metrics: { tmtMs: tmt, tmtSource: 'qemu', dtMs: dtp, dtSource: 'probe', mtMs: tmt - dtp, downtime: { qemuMs: dtq, probeMs: dtp, probeLost: 0, probeIntervalMs: 10, guestClockLagMs: null }, md: { totalBytes: 1, precopyBytes: null, downtimeBytes: null, postcopyBytes: null }, throughputMiBps: 1, iterations: 3, setupMs: 1 },
    });
    const c = checkAdvice('f', [row('x/1', 1000, 400, 550), row('x/2', 1000, 500, 700)], { maxDowntimeMs: 600, maxTotalS: null });
    expect([c.metByHypervisorDt, c.metByProbeDt]).toEqual([2, 1]);
  });
});
