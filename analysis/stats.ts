/**
 * Small-sample statistics for trial groups. Confidence intervals are Student-t intervals on the
 * mean (95 %, two-sided): campaigns repeat each point a handful of times, where a bootstrap has
 * too few distinct resamples to mean much.
 */

const Z975 = 1.959963984540054;

/** t quantiles at 0.975 for 1–30 degrees of freedom (standard tables). */
const T975 = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093,
  2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom. */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  // Cornish–Fisher expansion around the normal quantile: within 1e-5 of the table from df 30 on.
  const z = Z975;
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

export interface Ci {
  lo: number;
  hi: number;
}

/** The 95 % t interval of a mean from its sample size and sample standard deviation; null below n = 2. */
export function meanCi(n: number, mean: number, sd: number): Ci | null {
  if (n < 2 || !Number.isFinite(sd)) return null;
  const half = t975(n - 1) * (sd / Math.sqrt(n));
  return { lo: mean - half, hi: mean + half };
}

/** The k-th smallest value (0-based) of `a`, reordering it in place (Hoare's quickselect). */
function select(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** The median of the values (NaN-free), in linear time; reorders `a`. Null when empty. */
export function medianInPlace(a: Float64Array): number | null {
  const n = a.length;
  if (n === 0) return null;
  const upper = select(a, n >>> 1);
  if (n % 2) return upper;
  let lower = -Infinity; // after select, everything left of n/2 is ≤ upper: its largest is the lower middle
  for (let i = 0; i < n >>> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}
