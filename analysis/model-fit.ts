/**
 * How far the precopy model (workflows/precopy-model.ts) was from what happened: each trial's
 * prediction, made before it migrated, against its measured TMT, MD and DT, and its verdict (which
 * attempt moves the VM, or offline, or not at all) against the trial's outcome.
 */
import { conditionOf, type FlatTrial } from './flatten.js';

export type FitMeasure = 'TMT' | 'MD' | 'DT';

export interface ErrorStat {
  measure: FitMeasure;
  n: number;
  /** |predicted − measured| / measured, as fractions */
  medianAbs: number | null;
  p90Abs: number | null;
  /** median of the signed error: > 0 the model overestimates */
  medianSigned: number | null;
}

export interface TrialFit {
  trialId: string;
  hypervisor: string;
  workingSetMiB: number | null;
  predicted: string;
  measured: string;
  /** signed relative errors (null where either side is missing) */
  tmt: number | null;
  md: number | null;
  dt: number | null;
}

export interface ModelFit {
  /** trials that recorded a prediction */
  predicted: number;
  /** of the trials that did not fail for another reason (an error, not a verdict) */
  verdictsRight: number;
  verdictsOf: number;
  confusion: { predicted: string; measured: string; count: number }[];
  errors: ErrorStat[];
  trials: TrialFit[];
  /** per hypervisor and scenario: the model's cliff, bandwidth × downtime limit */
  cliffs: { hypervisor: string; scenario: string; modelMiB: number; bandwidthSource: string }[];
  bandwidthSources: string[];
}

/** 'attempt 0' … for a live move, else 'offline' or 'failed'. */
const verdictLabel = (kind: string | null, attempt: number | null) => (kind === 'converged' ? `attempt ${attempt}` : (kind ?? '?'));

/** The q-quantile with linear interpolation between order statistics. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const rel = (pred: number | null, meas: number | null) => (pred === null || meas === null || !(meas > 0) ? null : (pred - meas) / meas);

function errorStat(measure: FitMeasure, signed: readonly (number | null)[]): ErrorStat {
  const s = signed.filter((x): x is number => x !== null);
  const abs = s.map(Math.abs).sort((a, b) => a - b);
  return { measure, n: s.length, medianAbs: quantile(abs, 0.5), p90Abs: quantile(abs, 0.9), medianSigned: quantile([...s].sort((a, b) => a - b), 0.5) };
}

/**
 * DT is compared with the hypervisor's own figure where it gives one: the model predicts the
 * pause; the probe adds the network's re-learning after the move, which it does not model.
 */
export function modelFit(rows: readonly FlatTrial[]): ModelFit {
  const withPrediction = rows.filter((r) => r.predVerdict !== null);
  // a trial that failed with an error (not "no attempt converged") tells nothing about the model
  const judged = withPrediction.filter((r) => r.outcome !== 'failed' || /no attempt completed/.test(r.failReason ?? ''));
  const confusion = new Map<string, { predicted: string; measured: string; count: number }>();
  const trials: TrialFit[] = judged.map((r) => {
    const predicted = verdictLabel(r.predVerdict, r.predAttempt);
    const measured = verdictLabel(r.outcome, r.movedAttempt);
    const key = `${predicted}\u0000${measured}`;
    confusion.set(key, { predicted, measured, count: (confusion.get(key)?.count ?? 0) + 1 });
    // timings only where both moved the VM the same way: a different attempt is a wrong verdict, not a timing error
    const same = predicted === measured;
    return {
      trialId: r.trialId,
      hypervisor: r.hypervisor,
      workingSetMiB: r.workingSetMiB,
      predicted,
      measured,
      tmt: same ? rel(r.predTmtMs, r.tmtMs) : null,
      md: same ? rel(r.predMdMiB, r.mdMiB) : null,
      dt: same ? rel(r.predDtMs, r.dtQemuMs ?? r.dtMs) : null,
    };
  });
  const cliffKey = new Map<string, { hypervisor: string; scenario: string; values: number[]; sources: Set<string> }>();
  for (const r of withPrediction) {
    if (r.predCliffMiB === null) continue;
    const scenario = conditionOf(r);
    const k = `${r.hypervisor}\u0000${scenario}`;
    const c = cliffKey.get(k) ?? { hypervisor: r.hypervisor, scenario, values: [], sources: new Set<string>() };
    c.values.push(r.predCliffMiB);
    if (r.predBandwidthSource) c.sources.add(r.predBandwidthSource);
    cliffKey.set(k, c);
  }
  return {
    predicted: withPrediction.length,
    verdictsRight: trials.filter((t) => t.predicted === t.measured).length,
    verdictsOf: trials.length,
    confusion: [...confusion.values()].sort((a, b) => a.predicted.localeCompare(b.predicted) || a.measured.localeCompare(b.measured)),
    errors: [errorStat('TMT', trials.map((t) => t.tmt)), errorStat('MD', trials.map((t) => t.md)), errorStat('DT', trials.map((t) => t.dt))],
    trials,
    cliffs: [...cliffKey.values()].map((c) => ({ hypervisor: c.hypervisor, scenario: c.scenario, modelMiB: quantile([...c.values].sort((a, b) => a - b), 0.5)!, bandwidthSource: [...c.sources].join('/') })),
    bandwidthSources: [...new Set(withPrediction.map((r) => r.predBandwidthSource ?? '?'))],
  };
}
