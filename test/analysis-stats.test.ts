/**
 * The report's statistics against values computed independently: t quantiles against a numerical
 * integral of Student's density, group statistics against hand-computed small tables.
 */
import { describe, expect, it } from 'vitest';
import { flattenRow, type FlatTrial } from '../analysis/flatten.js';
import { meanCi, medianInPlace, t975 } from '../analysis/stats.js';
import { syntheticRow, type SyntheticTrial } from '../analysis/synthetic.js';
import { cliffs, failures, measuredCliffText, memoryCheck, outcomes, summarize } from '../analysis/tables.js';

/** P(T ≤ x) for Student's t with df degrees of freedom, by Simpson's rule on the density. */
function tCdf(x: number, df: number): number {
  const logC = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  const f = (t: number) => Math.exp(logC - ((df + 1) / 2) * Math.log(1 + (t * t) / df));
  const steps = 20_000;
  const h = x / steps;
  let s = f(0) + f(x);
  for (let i = 1; i < steps; i++) s += f(i * h) * (i % 2 ? 4 : 2);
  return 0.5 + (s * h) / 3;
}
/** ln Γ(z) by Lanczos (g = 7, n = 9). */
function lgamma(z: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z);
  z -= 1;
  let a = g[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += g[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const manifest = { campaign: 'c', hypervisor: 'qemu', trials: [] };
const flat = (ts: SyntheticTrial[], hypervisor = 'qemu') => ts.map((t) => flattenRow(syntheticRow(t), { ...manifest, hypervisor }));

describe('t quantiles', () => {
  it('puts 97.5 % of the t distribution below t975(df), table and expansion alike', () => {
    for (const df of [1, 2, 3, 5, 10, 29, 30, 31, 45, 100, 1000]) expect(tCdf(t975(df), df)).toBeCloseTo(0.975, 4);
  });
  it('refuses degrees of freedom that are not positive integers', () => {
    expect(() => t975(0)).toThrow(RangeError);
    expect(() => t975(2.5)).toThrow(RangeError);
  });
  it('gives the t interval of a mean: 10, 12, 14 → 12 ± 4.3027 · 2 / √3', () => {
    const ci = meanCi(3, 12, 2)!;
    expect(ci.lo).toBeCloseTo(12 - 4.96833, 4);
    expect(ci.hi).toBeCloseTo(12 + 4.96833, 4);
    expect(meanCi(1, 12, 0)).toBeNull();
  });
});

describe('median by quickselect', () => {
  it('equals the middle of the sorted values, odd and even counts, with ties', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const n of [1, 2, 3, 4, 5, 10, 11, 100, 1001]) {
      const xs = Array.from({ length: n }, () => Math.floor(next() * 20)); // ties on purpose
      const sorted = [...xs].sort((a, b) => a - b);
      const expected = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
      expect(medianInPlace(Float64Array.from(xs))).toBe(expected);
    }
    expect(medianInPlace(new Float64Array(0))).toBeNull();
  });
});

describe('group statistics', () => {
  // TMT 1000, 1200, 1400, 1800 ms; DT 40, 60, 50, 90 ms (hand-computed below).
  const rows = flat([
    { trialId: 'c/ramp/8MiB/r1', workingSetMiB: 8, end: 'precopy', tmtMs: 1000, dtMs: 40, mdMiB: 100 },
    { trialId: 'c/ramp/8MiB/r2', workingSetMiB: 8, end: 'precopy', tmtMs: 1200, dtMs: 60, mdMiB: 110 },
    { trialId: 'c/ramp/8MiB/r3', workingSetMiB: 8, end: 'precopy', tmtMs: 1400, dtMs: 50, mdMiB: 120 },
    { trialId: 'c/ramp/8MiB/r4', workingSetMiB: 8, end: 'precopy', tmtMs: 1800, dtMs: 90, mdMiB: 130 },
    { trialId: 'c/ramp/8MiB/r5', workingSetMiB: 8, end: 'offline', tmtMs: 9000, dtMs: 9000, mdMiB: 256 },
    { trialId: 'c/ramp/8MiB/r6', workingSetMiB: 8, end: { failed: 'host unreachable' } },
  ]);
  const summary = summarize(rows);

  it('keeps live and offline moves apart and leaves failed trials out', () => {
    expect(summary.map((s) => [s.workingSetMiB, s.mode, s.trials])).toEqual([
      [8, 'live', 4],
      [8, 'offline', 1],
    ]);
  });

  it('matches the hand-computed n, mean, median, sd and 95 % CI', () => {
    const tmt = summary[0]!.tmtMs;
    // mean 1350; median (1200 + 1400) / 2 = 1300; sd = √(350000 / 3) = 341.565; half = 3.1824 · 341.565 / 2 = 543.50
    expect(tmt.n).toBe(4);
    expect(tmt.mean).toBeCloseTo(1350, 9);
    expect(tmt.median).toBeCloseTo(1300, 9);
    expect(tmt.sd).toBeCloseTo(341.565, 3);
    expect(tmt.ciLo).toBeCloseTo(1350 - 543.5, 1);
    expect(tmt.ciHi).toBeCloseTo(1350 + 543.5, 1);
    // MT = TMT − DT: 960, 1140, 1350, 1710 → mean 1290, median 1245
    expect(summary[0]!.mtMs.mean).toBeCloseTo(1290, 9);
    expect(summary[0]!.mtMs.median).toBeCloseTo(1245, 9);
    // MD 100, 110, 120, 130 MiB → sd = √(500 / 3) = 12.9099
    expect(summary[0]!.mdMiB.sd).toBeCloseTo(12.9099, 3);
  });

  it('cuts at 0 an interval of a non-negative measure that reaches below it, and says so', () => {
    // DT 10, 10, 100 ms: mean 40, sd = √(5400 / 2) = 51.96, half = 4.3027 · 51.96 / √3 = 129.08 → [−89.1, 169.1]
    const wide = summarize(flat([
      { trialId: 'c/ramp/4MiB/r1', workingSetMiB: 4, end: 'precopy', tmtMs: 1000, dtMs: 10, mdMiB: 90 },
      { trialId: 'c/ramp/4MiB/r2', workingSetMiB: 4, end: 'precopy', tmtMs: 1000, dtMs: 10, mdMiB: 90 },
      { trialId: 'c/ramp/4MiB/r3', workingSetMiB: 4, end: 'precopy', tmtMs: 1000, dtMs: 100, mdMiB: 90 },
    ]))[0]!.dtMs;
    expect(wide.mean).toBeCloseTo(40, 9);
    expect(wide.ciLo).toBe(0);
    expect(wide.ciHi).toBeCloseTo(40 + 129.08, 1);
    expect(wide.ciCut).toBe(true);
    // an interval that stays above 0 is untouched
    expect(summary[0]!.tmtMs.ciCut).toBeUndefined();
  });

  it('reports a measure nobody took as n = 0 with no numbers, and one value without an interval', () => {
    expect(summary[0]!.dtGuestMs).toEqual({ n: 0, mean: null, median: null, sd: null, ciLo: null, ciHi: null });
    expect(summary[1]!.tmtMs).toEqual({ n: 1, mean: 9000, median: 9000, sd: null, ciLo: null, ciHi: null });
  });

  it('counts outcomes per group, ladder steps by name and failures by reason', () => {
    const more = [
      ...rows,
      ...flat([
        { trialId: 'c/ramp/8MiB/r7', workingSetMiB: 8, end: { ladder: 'auto-converge' } },
        { trialId: 'c/ramp/8MiB/r8', workingSetMiB: 8, end: { failed: 'host unreachable' } },
      ]),
    ];
    expect(outcomes(more)).toEqual([{ hypervisor: 'qemu', scenario: 'ramp', workingSetMiB: 8, trials: 8, precopy: 4, ladder: { 'auto-converge': 1 }, offline: 1, failed: 2, convergenceRate: 5 / 8 }]);
    expect(failures(more)).toEqual([{ hypervisor: 'qemu', reason: 'host unreachable', count: 2, trials: ['c/ramp/8MiB/r6', 'c/ramp/8MiB/r8'] }]);
  });
});

describe('the cliff', () => {
  const ramp = (size: number, ends: SyntheticTrial['end'][], extra: Partial<SyntheticTrial> = {}): SyntheticTrial[] =>
    ends.map((end, i) => ({ trialId: `c/ramp/${size}MiB/r${i + 1}`, workingSetMiB: size, end, ...extra }));

  it('is the smallest size where most informative trials did not converge, bracketed by the size below', () => {
    const rows = flat([
      ...ramp(8, ['precopy', 'precopy', 'precopy']),
      // one abort of three: most still converged; the error says nothing about convergence
      ...ramp(16, ['precopy', 'precopy', 'offline', { failed: 'ssh: connection refused' }]),
      ...ramp(32, ['precopy', 'offline', { ladder: 'downtime limit 1000 ms' }]),
      ...ramp(64, ['offline', 'offline', 'offline']),
    ]);
    const [c] = cliffs(rows);
    expect(c).toMatchObject({ predictedMiB: 112 * 0.3, bandwidthMiBps: 112, downtimeLimitMs: 300, measuredMiB: 32, belowMiB: 16, largestTriedMiB: 64 });
    expect(c!.perSize).toEqual([
      { workingSetMiB: 8, converged: 3, informative: 3 },
      { workingSetMiB: 16, converged: 2, informative: 3 },
      { workingSetMiB: 32, converged: 1, informative: 3 },
      { workingSetMiB: 64, converged: 0, informative: 3 },
    ]);
  });

  it('says there is none when every size converged, and predicts from the campaign\'s settings', () => {
    const [c] = cliffs(flat([...ramp(4, ['precopy']), ...ramp(64, ['precopy'], { bandwidthMiBps: 50, downtimeLimitMs: 100 })]));
    expect(c).toMatchObject({ measuredMiB: null, belowMiB: null, largestTriedMiB: 64 });
    expect(c!.predictedMiB).toBeCloseTo(112 * 0.3, 9); // the first row's plan: all trials of a campaign share it
  });

  it('has no bracket when the first size already fails', () => {
    const [c] = cliffs(flat([...ramp(4, ['offline', 'offline']), ...ramp(8, ['offline'])]));
    expect(c).toMatchObject({ measuredMiB: 4, belowMiB: null });
  });

  it('says in words how far it was measured: none up to the largest size that told, or not at all when every first attempt failed on an error (the Xen run here)', () => {
    const some = cliffs(flat([...ramp(4, ['precopy']), ...ramp(8, ['precopy']), ...ramp(16, [{ failed: 'xl migrate exited 139' }])]))[0]!;
    expect(measuredCliffText(some)).toBe('none up to 8 MiB');
    const none = cliffs(flat([...ramp(4, [{ failed: 'xl migrate exited 139' }]), ...ramp(8, [{ failed: 'helper died' }])]))[0]!;
    expect(none.measuredMiB).toBeNull();
    expect(measuredCliffText(none)).toBe('not measured (every first attempt failed on an error)');
    const at = cliffs(flat([...ramp(4, ['precopy']), ...ramp(8, ['offline'])]))[0]!;
    expect(measuredCliffText(at)).toBe('8 MiB');
  });

  it('is computed per hypervisor', () => {
    const rows = [...flat(ramp(16, ['precopy'])), ...flat(ramp(16, ['offline']), 'xen')];
    expect(cliffs(rows).map((c) => [c.hypervisor, c.measuredMiB])).toEqual([
      ['qemu', null],
      ['xen', 16],
    ]);
  });
});

describe('memory categories', () => {
  it('flags each adjacent pair of measured values that breaks configured ≥ allocated ≥ used ≥ requested ≥ dirtied', () => {
    const rows = flat([
      { trialId: 'c/r/8MiB/r1', workingSetMiB: 8, end: 'precopy', memory: { configuredMiB: 256, allocatedOnHostMiB: 200, usedInGuestMiB: 40, requestedMiB: 8, dirtiedMiB: 8 } },
      { trialId: 'c/r/8MiB/r2', workingSetMiB: 8, end: 'precopy', memory: { configuredMiB: 256, allocatedOnHostMiB: 290, usedInGuestMiB: 40, requestedMiB: 64, dirtiedMiB: null } },
      { trialId: 'c/r/8MiB/r3', workingSetMiB: 8, end: 'precopy', memory: { configuredMiB: 256, allocatedOnHostMiB: null, usedInGuestMiB: 300, requestedMiB: 8, dirtiedMiB: 9 } },
      { trialId: 'c/r/8MiB/r4', workingSetMiB: 8, end: 'precopy' },
    ]);
    const check = memoryCheck(rows);
    expect([check.checked, check.breaking]).toEqual([3, 2]);
    expect(memoryCheck(rows, 2).rows.map((m) => m.trialId)).toEqual(['c/r/8MiB/r2', 'c/r/8MiB/r3']); // past the limit: only rows that break it
    expect(check.rows.map((m) => [m.trialId, m.breaks])).toEqual([
      ['c/r/8MiB/r1', []],
      ['c/r/8MiB/r2', ['configured < allocatedOnHost', 'usedInGuest < requested']],
      ['c/r/8MiB/r3', ['configured < usedInGuest', 'requested < dirtied']],
    ]);
  });
});

describe('flattening a trial row', () => {
  it("treats a recorded TMT of 0 (QEMU's impossible figure, before the fallback existed) as unknown, not zero", () => {
    const row = syntheticRow({ trialId: 'c/ramp/40MiB/r2', workingSetMiB: 40, end: 'precopy', tmtMs: 0, dtMs: 407 });
    const f = flattenRow(row, manifest);
    expect(f).toMatchObject({ tmtMs: null, mtMs: null, throughputMiBps: null, dtQemuMs: null, dtMs: 407, tmtSource: null });
    expect(summarize([f])[0]!.tmtMs.n).toBe(0);
  });

  it("takes a local disk's copy from the attempt that moved the VM, and the witness check from the row; none without a disk", () => {
    const row = syntheticRow({ trialId: 'c/ramp/8MiB/r1', workingSetMiB: 8, end: 'precopy' });
    const last = row.attempts.at(-1)!;
    if (last.result.status !== 'completed') throw new Error('the synthetic row did not complete');
    const disk = { storage: 'local' as const, virtualBytes: 2 * 2 ** 30, mirroredBytes: 2 * 2 ** 30 + 3 * 2 ** 20, sentBytes: 700 * 2 ** 20, copyMs: 9100, syncMs: 40 };
    const withDisk = { ...row, attempts: [...row.attempts.slice(0, -1), { ...last, result: { ...last.result, final: { ...last.result.final, disk } } }], disk: { sha256Before: 'a', sha256After: 'b', intact: false } };
    expect(flattenRow(withDisk, manifest)).toMatchObject<Partial<FlatTrial>>({ diskMiB: 700, diskVirtualMiB: 2048, diskMirroredMiB: 2051, diskCopyMs: 9100, diskSyncMs: 40, diskIntact: false });
    expect(flattenRow(row, manifest)).toMatchObject<Partial<FlatTrial>>({ diskMiB: null, diskVirtualMiB: null, diskMirroredMiB: null, diskCopyMs: null, diskSyncMs: null, diskIntact: null });
  });

  it('tells how the first attempt ended and takes the prediction settings from its plan', () => {
    const [r] = flat([{ trialId: 'c/ramp/64MiB/r2', workingSetMiB: 64, end: 'offline', firstAbort: 'completion-timeout', bandwidthMiBps: 8, downtimeLimitMs: 50 }]);
    expect(r).toMatchObject<Partial<FlatTrial>>({ scenario: 'ramp', repetition: 2, outcome: 'offline', mode: 'offline', step: null, precopyConverged: false, precopyEnd: 'completion-timeout', bandwidthMiBps: 8, downtimeLimitMs: 50 });
    const [f] = flat([{ trialId: 'c/ramp/64MiB/r3', workingSetMiB: 64, end: { failed: 'boom' } }]);
    expect(f).toMatchObject<Partial<FlatTrial>>({ mode: 'none', precopyConverged: null, precopyEnd: 'error', failReason: 'boom', tmtMs: null });
  });
});
