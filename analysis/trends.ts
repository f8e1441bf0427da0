/**
 * How TMT, DT and MD move with the working set, per hypervisor and ramp scenario: the paper's
 * Figures 6–8 in one line each. The slope is an ordinary least-squares fit over every live move
 * (one point per trial, repetitions included) with its 95 % t interval; Spearman's rank
 * correlation says whether the order holds even where the growth is not linear. A measure grows
 * (or falls) only when the slope's interval excludes 0.
 */
import type { FlatTrial } from './flatten.js';
import { t975, type Ci } from './stats.js';

export const TREND_MEASURES = ['tmtMs', 'dtMs', 'mdMiB'] as const;
export type TrendMeasure = (typeof TREND_MEASURES)[number];

export interface Trend {
  hypervisor: string;
  scenario: string;
  measure: TrendMeasure;
  /** live moves with the measure, and the distinct working sets among them */
  n: number;
  sizes: number;
  /** change per MiB of working set (ms or MiB), null below 2 distinct sizes */
  slope: number | null;
  /** null below 3 points (no residual to estimate the spread from) */
  ci: Ci | null;
  /** Spearman's ρ, null below 3 points or when a side is constant */
  rho: number | null;
  verdict: 'grows' | 'falls' | 'no clear trend' | 'too few points';
}

/** Least-squares slope of y on x with its 95 % interval (null below 3 points). */
export function slopeWithCi(xs: readonly number[], ys: readonly number[]): { slope: number | null; ci: Ci | null } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (n < 2 || sxx === 0) return { slope: null, ci: null };
  const slope = sxy / sxx;
  if (n < 3) return { slope, ci: null };
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  const half = t975(n - 2) * Math.sqrt(sse / (n - 2) / sxx);
  return { slope, ci: { lo: slope - half, hi: slope + half } };
}

/** Ranks from 1, ties sharing their mean rank. */
function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation (Pearson's on the ranks); null below 3 points or when a side is constant. */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length < 3) return null;
  const rx = ranks(xs), ry = ranks(ys);
  const m = (xs.length + 1) / 2;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (rx[i]! - m) * (ry[i]! - m);
    sxx += (rx[i]! - m) ** 2;
    syy += (ry[i]! - m) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

/** One trend per hypervisor, ramp scenario and measure, over the trials that moved live. */
export function trends(rows: readonly FlatTrial[]): Trend[] {
  const groups = new Map<string, FlatTrial[]>();
  for (const r of rows) {
    if (r.workingSetMiB === null || r.mode !== 'live') continue;
    const k = `${r.hypervisor}\u0000${r.scenario}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: Trend[] = [];
  for (const [k, g] of groups) {
    const [hypervisor, scenario] = k.split('\u0000') as [string, string];
    for (const measure of TREND_MEASURES) {
      const pts = g.filter((r) => r[measure] !== null);
      const xs = pts.map((r) => r.workingSetMiB!);
      const ys = pts.map((r) => r[measure]!);
      const sizes = new Set(xs).size;
      const { slope, ci } = pts.length ? slopeWithCi(xs, ys) : { slope: null, ci: null };
      const verdict = ci === null || sizes < 3 ? 'too few points' : ci.lo > 0 ? 'grows' : ci.hi < 0 ? 'falls' : 'no clear trend';
      out.push({ hypervisor, scenario, measure, n: pts.length, sizes, slope, ci, rho: spearman(xs, ys), verdict });
    }
  }
  return out;
}
