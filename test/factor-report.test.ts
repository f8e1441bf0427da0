/**
 * A factorial campaign's effects on rows with known answers: every TMT is a sum of known terms, so
 * each level's paired difference is known exactly; a trial that did not move live drops its pair
 * and counts against its level's convergence.
 */
import { describe, expect, it } from 'vitest';
import { syntheticRow } from '../analysis/synthetic.js';
import { flattenRow } from '../analysis/flatten.js';
import { factorBlocks, factorEffects, factorFigures, pauseNotReached, postcopyNotReached, variedFactors } from '../analysis/factor-report.js';
import { summarize } from '../analysis/tables.js';

const manifest = { campaign: 'f', hypervisor: 'qemu', trials: [] };

/** 2 caps × xbzrle off/on × 2 sizes × 3 repetitions; TMT 1000 + 2000 at 32 MiB/s − 300 with xbzrle + 7 × repetition + 100 × size. */
function rows(o: { failOne?: boolean } = {}) {
  const out = [];
  for (const bw of [32, 112])
    for (const xb of [null, 64])
      for (const ws of [8, 16])
        for (const r of [1, 2, 3]) {
          const id = `f/ramp/${ws}MiB/bw${bw}_xb${xb ?? 'off'}/r${r}`;
          const failed = o.failOne && bw === 32 && xb === null && ws === 8 && r === 3;
          const tmtMs = 1000 + (bw === 32 ? 2000 : 0) - (xb ? 300 : 0) + 7 * r + 100 * ws;
          out.push(flattenRow(syntheticRow({ trialId: id, workingSetMiB: ws, end: failed ? { failed: 'stall' } : 'precopy', bandwidthMiBps: bw, tmtMs, dtMs: xb ? 40 : 60, mdMiB: xb ? 90 : 120, tuning: { xbzrleCacheMiB: xb } }), manifest));
        }
  return out;
}

describe('factor effects', () => {
  it('finds the varied factors and their levels in order (off first), and reads the levels from the rows', () => {
    const flat = rows();
    expect(variedFactors(flat).map((v) => [v.factor.title, v.levels])).toEqual([
      ['bandwidth cap', ['32 MiB/s', '112 MiB/s']],
      ['XBZRLE', ['off', '64 MiB cache']],
    ]);
    expect(flat[0]).toMatchObject({ levels: 'bw32_xboff', bandwidthMiBps: 32, xbzrleCacheMiB: null });
    expect(flat[6]).toMatchObject({ levels: 'bw32_xb64', xbzrleCacheMiB: 64 });
  });

  it('each level against the first as the mean paired difference, exact where the data is', () => {
    const { effects } = factorEffects(rows());
    const at = (factor: string, measure: string) => effects.find((e) => e.factor === factor && e.measure === measure)!;
    expect(at('bandwidth cap', 'TMT (ms)')).toMatchObject({ level: '112 MiB/s', baseline: '32 MiB/s', pairs: 12, meanDiff: -2000, ciLo: -2000, ciHi: -2000 });
    expect(at('XBZRLE', 'TMT (ms)')).toMatchObject({ level: '64 MiB cache', baseline: 'off', pairs: 12, meanDiff: -300 });
    expect(at('XBZRLE', 'DT (ms)').meanDiff).toBe(-20);
    expect(at('XBZRLE', 'MD (MiB)').meanDiff).toBeCloseTo(-30, 6);
    // relative to the baseline level's mean in those pairs: −300 over the xbzrle-off trials' mean TMT
    const offMean = rows().filter((r) => r.xbzrleCacheMiB === null).reduce((a, r) => a + r.tmtMs!, 0) / 12;
    expect(at('XBZRLE', 'TMT (ms)').relative).toBeCloseTo(-300 / offMean, 9);
  });

  it("pairs of two hypervisors in one campaign: each row is its trial's hypervisor, a factor paired like the others, not a condition of its own", () => {
    // libvirt takes 150 ms more than QEMU for the same trial
    const levels = (kind: string, ws: number, r: number) => ({ id: `m/ramp/${ws}MiB/${kind}/r${r}`, scenario: 'ramp', workingSetMiB: ws, repetition: r, levels: { hypervisor: kind } });
    const trials = ['qemu', 'libvirt'].flatMap((k) => [8, 16].flatMap((ws) => [1, 2].map((r) => levels(k, ws, r))));
    const m = { campaign: 'm', hypervisor: 'qemu+libvirt', backend: 'qemu+libvirt', trials } as unknown as Parameters<typeof flattenRow>[1];
    const flat = trials.map((t) => flattenRow(syntheticRow({ trialId: t.id, workingSetMiB: t.workingSetMiB, end: 'precopy', bandwidthMiBps: 112, tmtMs: 1000 + 10 * t.workingSetMiB + (t.levels.hypervisor === 'libvirt' ? 150 : 0) + t.repetition }), m));
    expect(flat.map((r) => r.hypervisor)).toEqual([...Array(4).fill('qemu'), ...Array(4).fill('libvirt')]);
    expect(variedFactors(flat).map((v) => [v.factor.title, v.levels])).toEqual([['hypervisor', ['qemu', 'libvirt']]]);
    expect(factorEffects(flat).effects.find((e) => e.measure === 'TMT (ms)')).toMatchObject({ factor: 'hypervisor', level: 'libvirt', baseline: 'qemu', pairs: 4, meanDiff: 150 });
    // the summary keeps them apart by hypervisor, under the plain scenario
    expect(summarize(flat).map((g) => [g.hypervisor, g.scenario])).toEqual(expect.arrayContaining([['qemu', 'ramp'], ['libvirt', 'ramp']]));
  });

  it("Xen pairs beside QEMU pairs: the cap and limit xl does not apply are not factors of their own (they vary only with the hypervisor)", () => {
    const trials = ['qemu', 'xen'].flatMap((k) => [1, 2].map((r) => ({ id: `x/baseline/idle/${k}/r${r}`, scenario: 'baseline', workingSetMiB: null, repetition: r, levels: { hypervisor: k } })));
    const m = { campaign: 'x', hypervisor: 'qemu+xen', backend: 'qemu+xen', trials } as unknown as Parameters<typeof flattenRow>[1];
    // Xen: no cap (0) and no limit; 900 ms more than QEMU for the same trial
    const flat = trials.map((t) => flattenRow(syntheticRow({ trialId: t.id, workingSetMiB: null, end: 'precopy', bandwidthMiBps: t.levels.hypervisor === 'xen' ? 0 : 112, tmtMs: 1000 + (t.levels.hypervisor === 'xen' ? 900 : 0) + t.repetition }), m));
    expect(flat.map((r) => [r.hypervisor, r.bandwidthMiBps])).toEqual([['qemu', 112], ['qemu', 112], ['xen', null], ['xen', null]]);
    expect(variedFactors(flat).map((v) => [v.factor.title, v.levels])).toEqual([['hypervisor', ['qemu', 'xen']]]);
    expect(factorEffects(flat).effects.find((e) => e.measure === 'TMT (ms)')).toMatchObject({ factor: 'hypervisor', level: 'xen', baseline: 'qemu', pairs: 2, meanDiff: 900 });
  });

  it('a trial that did not move live drops its pairs and counts against its level', () => {
    const { effects, convergence } = factorEffects(rows({ failOne: true }));
    // the failed trial (32 MiB/s, xbzrle off) was paired once per factor
    expect(effects.find((e) => e.factor === 'bandwidth cap' && e.measure === 'TMT (ms)')!.pairs).toBe(11);
    expect(effects.find((e) => e.factor === 'XBZRLE' && e.measure === 'TMT (ms)')!.pairs).toBe(11);
    expect(convergence).toEqual([
      { factor: 'bandwidth cap', level: '32 MiB/s', trials: 12, live: 11 },
      { factor: 'bandwidth cap', level: '112 MiB/s', trials: 12, live: 12 },
      { factor: 'XBZRLE', level: 'off', trials: 12, live: 11 },
      { factor: 'XBZRLE', level: '64 MiB cache', trials: 12, live: 12 },
    ]);
    // noise that differs between the levels widens the interval
    const noisy = rows().map((r, i) => (r.xbzrleCacheMiB ? { ...r, tmtMs: r.tmtMs! + (i % 3) * 50 } : r));
    const e = factorEffects(noisy).effects.find((x) => x.factor === 'XBZRLE' && x.measure === 'TMT (ms)')!;
    expect(e.meanDiff).toBeCloseTo(-250, 6);
    expect(e.ciLo!).toBeLessThan(-250);
    expect(e.ciHi!).toBeGreaterThan(-250);
  });

  it('keeps each combination apart in the summary, and reports the section and a figure per factor and measure', () => {
    const flat = rows();
    const groups = summarize(flat).map((s) => `${s.scenario} ${s.workingSetMiB}`);
    expect(groups).toContain('ramp bw32_xb64 8');
    expect(new Set(groups).size).toBe(8);
    const blocks = factorBlocks(flat, { kind: 'random', seed: 5 });
    expect(blocks[0]).toMatchObject({ kind: 'text' });
    expect((blocks[0] as { text: string }).text).toMatch(/^2 factors varied \(bandwidth cap: 32 MiB\/s, 112 MiB\/s; XBZRLE: off, 64 MiB cache\), 4 combinations, run in random order \(seed 5\)/);
    expect(factorFigures(flat, 12).map((f) => f.id)).toEqual(['fig12-factor-bandwidthMiBps-tmtMs', 'fig13-factor-bandwidthMiBps-dtMs', 'fig14-factor-xbzrle-tmtMs', 'fig15-factor-xbzrle-dtMs']);
    // a campaign without factors has no such section
    expect(factorBlocks(flat.map((r) => ({ ...r, levels: null })), null)).toEqual([]);
  });

  it('says when a pause level was never reached: the live moves that converged before their pause point, and none when each paused', () => {
    // the xbzrle-on rows stand in for a pause level: three of them paused at their first pass, the rest converged first
    const flat = rows().map((r, i) => (r.xbzrleCacheMiB === null ? r : { ...r, pauseLevel: 1, pausedAtPass: i % 4 === 0 ? 1 : null }));
    const withPause = flat.filter((r) => r.pauseLevel !== null);
    const reached = withPause.filter((r) => r.pausedAtPass !== null).length;
    expect(reached).toBeGreaterThan(0);
    expect(pauseNotReached(flat)).toEqual({ notPaused: withPause.length - reached, live: withPause.length });
    const note = factorBlocks(flat, null).find((b) => b.kind === 'text' && b.text.includes('pause point'));
    expect(note).toMatchObject({ text: expect.stringMatching(new RegExp(`^${withPause.length - reached} of ${withPause.length} live moves with a pause level converged before their pause point`)) });
    const allPaused = flat.map((r) => (r.pauseLevel === null ? r : { ...r, pausedAtPass: 1 }));
    expect(pauseNotReached(allPaused)).toBeNull();
    expect(factorBlocks(allPaused, null).some((b) => b.kind === 'text' && b.text.includes('pause point'))).toBe(false);
  });

  it('says when a post-copy level never switched: the live moves that converged in precopy first, and none when each switched', () => {
    // the xbzrle-on rows stand in for a post-copy level: every third switched at pass 0, the rest converged in precopy
    const flat = rows().map((r, i) => (r.xbzrleCacheMiB === null ? r : { ...r, postcopyLevel: '0 passes', postcopyAtPass: i % 3 === 0 ? 0 : null }));
    const withPostcopy = flat.filter((r) => r.postcopyLevel !== null);
    const switched = withPostcopy.filter((r) => r.postcopyAtPass !== null).length;
    expect(switched).toBeGreaterThan(0);
    expect(switched).toBeLessThan(withPostcopy.length);
    expect(postcopyNotReached(flat)).toEqual({ notSwitched: withPostcopy.length - switched, live: withPostcopy.length });
    const note = factorBlocks(flat, null).find((b) => b.kind === 'text' && b.text.includes('switch point'));
    expect(note).toMatchObject({ text: expect.stringMatching(new RegExp(`^${withPostcopy.length - switched} of ${withPostcopy.length} live moves with a post-copy level converged in precopy`)) });
    const allSwitched = flat.map((r) => (r.postcopyLevel === null ? r : { ...r, postcopyAtPass: 0 }));
    expect(postcopyNotReached(allSwitched)).toBeNull();
    expect(factorBlocks(allSwitched, null).some((b) => b.kind === 'text' && b.text.includes('switch point'))).toBe(false);
  });
});
