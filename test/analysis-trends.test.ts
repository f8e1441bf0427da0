/**
 * How the report says TMT, DT and MD move with the working set: slopes and intervals against
 * values worked by hand, Spearman's ρ with ties, and which trials count (live moves of a ramp).
 */
import { describe, expect, it } from 'vitest';
import { flattenRow } from '../analysis/flatten.js';
import { syntheticRow, type SyntheticTrial } from '../analysis/synthetic.js';
import { downtimeSentences, slopeText, trendBlocks } from '../analysis/trend-report.js';
import { slopeWithCi, spearman, trends } from '../analysis/trends.js';

const manifest = { campaign: 'c', hypervisor: 'xen', trials: [] };
const flat = (ts: SyntheticTrial[], hypervisor = 'xen') => ts.map((t) => flattenRow(syntheticRow(t), { ...manifest, hypervisor }));
const live = (ws: number, dtMs: number, o: Partial<SyntheticTrial> = {}): SyntheticTrial => ({ trialId: `c/dirty-ramp/${ws}MiB/r1`, workingSetMiB: ws, end: 'precopy', dtMs, tmtMs: 1000 + ws, mdMiB: 20, ...o });

describe('trends with the working set', () => {
  it('fits the least-squares slope with its t interval (worked by hand)', () => {
    // x 1,2,3; y 1,3,2: slope 1/2, residuals -1/2, 1, -1/2 (SSE 3/2), se sqrt(1.5 / 1 / 2), t(1) 12.7062
    const { slope, ci } = slopeWithCi([1, 2, 3], [1, 3, 2]);
    expect(slope).toBeCloseTo(0.5, 12);
    expect(ci!.lo).toBeCloseTo(0.5 - 12.7062 * Math.sqrt(0.75), 4);
    expect(ci!.hi).toBeCloseTo(0.5 + 12.7062 * Math.sqrt(0.75), 4);
    expect(slopeWithCi([1, 2, 3, 4], [2, 4, 6, 8])).toEqual({ slope: 2, ci: { lo: 2, hi: 2 } });
    expect(slopeWithCi([4, 4, 4], [1, 2, 3])).toEqual({ slope: null, ci: null });
    expect(slopeWithCi([1, 2], [1, 3])).toEqual({ slope: 2, ci: null });
  });

  it("ranks ties at their mean rank in Spearman's ρ", () => {
    expect(spearman([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(spearman([1, 2, 3, 4], [10, 20, 20, 30])).toBeCloseTo(0.9486832981, 9); // ranks 1, 2.5, 2.5, 4
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNull();
    expect(spearman([1, 2], [1, 2])).toBeNull();
  });

  it('counts live moves of a ramp only, and says grows, falls or no clear trend from the interval', () => {
    const rows = flat([
      live(4, 2000), live(8, 4100), live(16, 7900), live(32, 16000),
      live(64, 99_000, { end: 'offline' }), // an offline move's downtime is the whole move: left out
      { trialId: 'c/baseline/idle/r1', workingSetMiB: null, end: 'precopy', dtMs: 50, tmtMs: 900, mdMiB: 20 },
    ]);
    const t = trends(rows);
    const dt = t.find((x) => x.measure === 'dtMs')!;
    expect(dt).toMatchObject({ hypervisor: 'xen', scenario: 'dirty-ramp', n: 4, sizes: 4, verdict: 'grows' });
    expect(dt.slope).toBeCloseTo(229200 / 460, 9); // Sxy / Sxx about x̄ 15, ȳ 7500
    expect(dt.rho).toBe(1);
    expect(t.find((x) => x.measure === 'mdMiB')).toMatchObject({ slope: 0, verdict: 'no clear trend', rho: null });
    const falling = trends(flat([live(4, 900), live(8, 700), live(16, 300)])).find((x) => x.measure === 'dtMs')!;
    expect(falling.verdict).toBe('falls');
    expect(downtimeSentences([falling])[0]).toMatch(/^xen \(dirty-ramp\): DT falls as the working set grows \(-50\.0 ms per MiB \[/);
    const two = trends(flat([live(4, 900), live(8, 700)])).find((x) => x.measure === 'dtMs')!;
    expect(two.verdict).toBe('too few points');
    expect(slopeText(two)).toBe('-50.0 ms per MiB');
  });

  it("puts each hypervisor's downtime beside the paper's finding, and is absent without a ramp", () => {
    const blocks = trendBlocks([...flat([live(4, 2000), live(8, 4100), live(16, 7900)]), ...flat([live(4, 200), live(8, 210), live(16, 190)], 'qemu')]);
    const text = blocks[0]!.kind === 'text' ? blocks[0]!.text : '';
    expect(text).toContain('The paper: KVM stopped converging once 32 MB');
    expect(text).toContain('xen (dirty-ramp): DT grows with the working set (+489.3 ms per MiB');
    expect(text).toContain('qemu (dirty-ramp): DT shows no clear trend with the working set');
    expect(trendBlocks(flat([{ trialId: 'c/baseline/idle/r1', workingSetMiB: null, end: 'precopy', dtMs: 50 }]))).toEqual([]);
  });
});
