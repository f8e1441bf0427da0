/**
 * The figures show the right data: every value in each figure's spec checked against the trial
 * rows of the fourth paper run, read straight from their JSON files (not through the analysis).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCampaignResults } from '../analysis/load.js';
import { analyze, buildFigures, flattenCampaigns } from '../analysis/report.js';
import type { TrialRow } from '../workflows/trial-types.js';

const RUN4 = join(import.meta.dirname, 'fixtures', 'results', 'paper-run4');
const rows = readdirSync(join(RUN4, 'trials')).map((f) => (JSON.parse(readFileSync(join(RUN4, 'trials', f), 'utf8')) as { row: TrialRow }).row);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** 95 % two-sided t quantiles for the sample sizes here */
const T975: Record<number, number> = { 2: 12.7062, 3: 4.30265 };
const halfWidth = (xs: number[]) => {
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  return (T975[xs.length]! * sd) / Math.sqrt(xs.length);
};
type Layer = { data?: { values: Record<string, number | string | null>[] }; mark: unknown };

describe('figures show the trial rows', async () => {
  const c = await loadCampaignResults(RUN4);
  const figures = await buildFigures(analyze(flattenCampaigns([c])), null);
  const fig = (id: string) => figures.find((f) => f.id === id)!;

  it('Fig. 3–5: one bar per hypervisor at the baseline mean, whiskers at the t interval', () => {
    const baseline = rows.filter((r) => r.workingSetMiB === null);
    for (const [id, pick] of [['fig3-mtMs', (r: TrialRow) => r.metrics!.mtMs], ['fig4-dtMs', (r: TrialRow) => r.metrics!.dtMs], ['fig5-tmtMs', (r: TrialRow) => r.metrics!.tmtMs]] as const) {
      const values = (fig(id).spec.data as { values: { hypervisor: string; mean: number; ciLo: number; ciHi: number; n: number }[] }).values;
      const xs = baseline.map(pick);
      expect(values, id).toHaveLength(1);
      expect(values[0]!.n).toBe(3);
      expect(values[0]!.mean, id).toBeCloseTo(mean(xs), 1); // rows keep µs; the analysis rounds within it
      expect(values[0]!.ciHi, id).toBeCloseTo(mean(xs) + halfWidth(xs), 1);
      expect(values[0]!.ciLo, id).toBeCloseTo(Math.max(0, mean(xs) - halfWidth(xs)), 1);
    }
  });

  it('Fig. 6–8: a point per working set at the live mean, whiskers, rings where default precopy failed, the cliff rule at bandwidth × limit', () => {
    const sizes = [...new Set(rows.map((r) => r.workingSetMiB).filter((s): s is number => s !== null))].sort((a, b) => a - b);
    for (const [id, pick] of [['fig6-mtMs', (r: TrialRow) => r.metrics!.mtMs], ['fig7-mdMiB', (r: TrialRow) => r.metrics!.md.totalBytes / 2 ** 20], ['fig8-dtMs', (r: TrialRow) => r.metrics!.dtMs]] as const) {
      const [line, whiskers, offline, rings, rule] = fig(id).spec.layer as Layer[];
      const points = line!.data!.values;
      expect(points.map((p) => p.workingSetMiB), id).toEqual(sizes);
      for (const size of sizes) {
        const xs = rows.filter((r) => r.workingSetMiB === size && r.outcome.kind === 'converged').map(pick);
        const p = points.find((q) => q.workingSetMiB === size)!;
        expect(p.mean, `${id} ${size} MiB`).toBeCloseTo(mean(xs), 1);
        const w = whiskers!.data!.values.find((q) => q.workingSetMiB === size)!;
        expect(w.ciHi as number, `${id} ${size} MiB`).toBeCloseTo(mean(xs) + halfWidth(xs), 1);
      }
      expect(offline!.data!.values, id).toEqual([]); // every trial moved live
      // ringed: the sizes where the first attempt (default precopy) did not complete
      const failedFirst = sizes.filter((s) => rows.some((r) => r.workingSetMiB === s && r.attempts[0]!.result.status !== 'completed'));
      expect(failedFirst).toEqual([40, 48, 64]);
      expect(rings!.data!.values.map((v) => v.workingSetMiB), id).toEqual(failedFirst);
      expect(rule!.data!.values.map((v) => v.predictedMiB), id).toEqual([expect.closeTo(112 * 0.3, 6)]);
    }
  });
});
