/** `miglab predict`: the model over a campaign file, with inputs from options, recorded trials or stated assumptions. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCampaign } from '../campaign/builder.js';
import { predictCampaign } from '../cli/predict.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';
import { UserError } from '../lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = writeCampaign(dir, {
  campaign: 'pred', bed: 'lab', vm: { memoryMiB: 256 },
  scenarios: [{ name: 'baseline', kind: 'baseline' }, { name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [16, 48], rate: 'max', pattern: 'seq' }],
  repetitions: 2,
  migration: { bandwidthMiBps: 100, downtimeLimitMs: 300 },
  ladder: [{ step: 'raise-downtime', downtimeLimitMs: 1000 }],
});
const trial = (p: Awaited<ReturnType<typeof predictCampaign>>, id: string) => p.trials.find((t) => t.id === id)!.prediction;

describe('miglab predict', () => {
  it('with nothing recorded: the cap, a stated guest base, and a flat-out workload re-dirtying its set every pass', async () => {
    const p = await predictCampaign(file);
    expect(p.inputs).toMatchObject({ guestBaseMiB: { value: 40, source: 'assumed' }, writeRateMiBps: { value: null, source: 'assumed' }, bandwidth: { bandwidthMiBps: 100, source: 'cap', from: 'cap' } });
    expect(p.trials).toHaveLength(6);
    // 16 MiB fits under 100 MiB/s × 300 ms = 30 MiB; 48 does not, until the raised 1000 ms limit
    expect(trial(p, 'pred/ramp/16MiB/r1')).toMatchObject({ verdict: 'converged', attempt: 0, passes: 1 });
    const big = trial(p, 'pred/ramp/48MiB/r2');
    expect(big).toMatchObject({ verdict: 'converged', attempt: 1 });
    expect(big.attempts[0]).toMatchObject({ end: 'stall', passes: 11 });
    // pass 0 sends the 40 MiB base and the 48 MiB set in 0.88 s; 48 MiB then go in the pause
    expect(big.dtMs).toBeCloseTo(480 + 20, 6);
    expect(big.cliffMiB).toBe(30);
  });

  it("takes inputs from the campaign's recorded trials (medians), and options over both", async () => {
    const store = new ResultsStore(join(dir, 'results'));
    const row = (id: string, notFree: number, requested: number, idle: number, write: number): TrialRow => ({
      trialId: id, src: 'hosta', dst: 'hostb', workingSetMiB: requested, outcome: { kind: 'failed', reason: 'x' }, metrics: null, probe: null, dirtyRateMiBps: null,
      memory: { configuredMiB: 256, allocatedOnHostMiB: null, usedInGuestMiB: null, notFreeInGuestMiB: notFree, requestedMiB: requested, dirtiedMiB: null }, attempts: [],
      idleDirtyRateMiBps: idle, workloadWriteMiBps: write,
    });
    await store.recordTrial('pred/ramp/16MiB/r1', row('pred/ramp/16MiB/r1', 66, 16, 0.4, 20));
    await store.recordTrial('pred/ramp/16MiB/r2', row('pred/ramp/16MiB/r2', 70, 16, 0.6, 40));
    await store.recordTrial('pred/ramp/48MiB/r1', row('pred/ramp/48MiB/r1', 100, 48, 0.8, 30));
    const p = await predictCampaign(file);
    expect(p.inputs.guestBaseMiB).toEqual({ value: 52, source: 'measured (3 trials)' });
    expect(p.inputs.idleDirtyMiBps).toEqual({ value: 0.6, source: 'measured (3 trials)' });
    expect(p.inputs.writeRateMiBps).toEqual({ value: 30, source: 'measured (3 trials)' });
    // 30 MiB/s writes 48 MiB-set pages slower than a pass: pass 0 (52 + 48 MiB, 1 s) dirties 30 + 0.6 MiB, just over 30
    expect(trial(p, 'pred/ramp/48MiB/r1').attempts[0]!.passes).toBeGreaterThan(1);
    const o = await predictCampaign(file, { writeRateMiBps: 10, guestBaseMiB: 20, idleDirtyMiBps: 0 });
    expect(o.inputs.writeRateMiBps).toEqual({ value: 10, source: 'option' });
    // 68 MiB in 0.68 s at 10 MiB/s: 6.8 MiB dirtied, under 30: one pass
    expect(trial(o, 'pred/ramp/48MiB/r1')).toMatchObject({ verdict: 'converged', attempt: 0, passes: 1 });
  });

  it('refuses a Xen campaign without a bandwidth to assume', async () => {
    const xen = writeCampaign(dir, { campaign: 'predxen', bed: 'lab', hypervisor: 'xen', vm: { memoryMiB: 256 }, scenarios: [{ name: 'baseline', kind: 'baseline' }], migration: { downtimeLimitMs: 300 } });
    const err = await predictCampaign(xen).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.fix).toMatch(/--bandwidth/);
    expect((await predictCampaign(xen, { bandwidthMiBps: 0.8 })).inputs.bandwidth).toMatchObject({ bandwidthMiBps: 0.8, from: 'option' });
  });

  it("Xen pairs beside QEMU pairs: the QEMU trials at the cap with the ladder; the Xen trials left out (no cap to assume), or with --bandwidth by Xen's rules", async () => {
    const mixed = writeCampaign(dir, {
      campaign: 'predmixed', bed: 'lab', pairs: [['hosta', 'hostb'], ['hostc', 'hostd', 'xen']], factors: { hypervisor: ['qemu', 'xen'] }, vm: { memoryMiB: 256 },
      scenarios: [{ name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [48], rate: 'max', pattern: 'seq' }],
      migration: { bandwidthMiBps: 100, downtimeLimitMs: 300 }, ladder: [{ step: 'raise-downtime', downtimeLimitMs: 1000 }], results: 'results-mixed',
    });
    const p = await predictCampaign(mixed);
    expect(p.trials.map((t) => t.id)).toEqual(['predmixed/ramp/48MiB/qemu/r1']);
    expect(trial(p, 'predmixed/ramp/48MiB/qemu/r1')).toMatchObject({ verdict: 'converged', attempt: 1 });
    expect(p.leftOut).toMatchObject({ trials: 1, why: expect.stringMatching(/--bandwidth/) });
    const o = await predictCampaign(mixed, { bandwidthMiBps: 100 });
    expect(o.leftOut).toBeUndefined();
    // Xen has no rung to climb: one attempt, ended by its own pass limit, never the stall rule
    const x = trial(o, 'predmixed/ramp/48MiB/xen/r1');
    expect(x.attempts).toHaveLength(1);
    expect(x.attempts[0]!.end).not.toBe('stall');
  });
});
