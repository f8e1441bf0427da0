/** The model's error table and verdict confusion, on hand-made rows. */
import { describe, expect, it } from 'vitest';
import { flattenRow, type FlatTrial } from '../analysis/flatten.js';
import { modelFit, quantile } from '../analysis/model-fit.js';

const blank = flattenRow({ trialId: 'c/s/idle/r1', src: 'a', dst: 'b', workingSetMiB: null, outcome: { kind: 'failed', reason: '' }, metrics: null, probe: null, dirtyRateMiBps: null, memory: null, attempts: [] }, { campaign: 'c', trials: [], hypervisor: 'qemu' });
const row = (id: string, over: Partial<FlatTrial>): FlatTrial => ({ ...blank, trialId: id, scenario: 'ramp', predBandwidthSource: 'cap', predCliffMiB: 33.6, ...over });
const moved = (attempt: number) => ({ outcome: 'converged' as const, movedAttempt: attempt });
const predicted = (attempt: number) => ({ predVerdict: 'converged' as const, predAttempt: attempt });

describe('model fit', () => {
  it('quantiles interpolate between order statistics', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.9)).toBe(9);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('errors are relative to the measurement, over the trials whose verdict was right; DT against the hypervisor figure', () => {
    const fit = modelFit([
      row('c/ramp/4MiB/r1', { ...moved(0), ...predicted(0), tmtMs: 1000, predTmtMs: 1100, mdMiB: 100, predMdMiB: 95, dtMs: 300, dtQemuMs: 100, predDtMs: 120 }),
      row('c/ramp/4MiB/r2', { ...moved(0), ...predicted(0), tmtMs: 2000, predTmtMs: 1800, mdMiB: 100, predMdMiB: 100, dtMs: 300, dtQemuMs: 200, predDtMs: 200 }),
      // a wrong verdict: no timing error counted for it
      row('c/ramp/64MiB/r1', { ...moved(0), ...predicted(1), tmtMs: 1000, predTmtMs: 5000, mdMiB: 10, predMdMiB: 10, dtQemuMs: 10, predDtMs: 10 }),
      row('c/ramp/64MiB/r2', { outcome: 'offline', ...predicted(1) }),
      // failed by an error, not by a verdict: left out
      row('c/ramp/64MiB/r3', { outcome: 'failed', failReason: 'host unreachable', ...predicted(0) }),
      row('c/ramp/64MiB/r4', { outcome: 'failed', failReason: 'no attempt completed (precopy: aborted)', predVerdict: 'failed', predAttempt: null }),
      // no prediction recorded
      row('c/ramp/8MiB/r1', { ...moved(0), predVerdict: null, predBandwidthSource: null, predCliffMiB: null }),
    ]);
    expect(fit.predicted).toBe(6);
    expect([fit.verdictsRight, fit.verdictsOf]).toEqual([3, 5]);
    expect(fit.confusion).toEqual([
      { predicted: 'attempt 0', measured: 'attempt 0', count: 2 },
      { predicted: 'attempt 1', measured: 'attempt 0', count: 1 },
      { predicted: 'attempt 1', measured: 'offline', count: 1 },
      { predicted: 'failed', measured: 'failed', count: 1 },
    ]);
    const [tmt, md, dt] = fit.errors;
    // TMT: +10 % and −10 %; MD: −5 % and 0; DT: +20 % (of QEMU's 100, not the probe's 300) and 0
    expect(tmt).toMatchObject({ measure: 'TMT', n: 2 });
    expect(tmt!.medianAbs).toBeCloseTo(0.1, 10);
    expect(tmt!.medianSigned).toBeCloseTo(0, 10);
    expect(md!.medianAbs).toBeCloseTo(0.025, 10);
    expect(md!.p90Abs).toBeCloseTo(0.045, 10);
    expect(dt!.medianAbs).toBeCloseTo(0.1, 10);
    expect(dt!.p90Abs).toBeCloseTo(0.18, 10);
    expect(fit.cliffs).toEqual([{ hypervisor: 'qemu', scenario: 'ramp', modelMiB: 33.6, bandwidthSource: 'cap' }]);
  });
});
