/**
 * A trial's prediction from what the trial measured before it migrates: the guest's memory in
 * use, the idle guest's dirty rate, the workload's write rate. Made in the workflow (pure, so it
 * is in the history before the first migrate command) and kept in the row beside what happened.
 * Sandbox code (see README.md).
 */
import type { AttemptPlan } from './ladder.js';
import { DEFAULT_OVERHEADS, predictTrial, type ModelGuest, type ModelLink, type ModelOverheads, type ModelRules, type PredictedAttempt, type Prediction } from './precopy-model.js';
import type { MemoryCategories, TrialInput } from './trial-types.js';

export interface PredictionInputs {
  guest: ModelGuest;
  link: ModelLink;
  rules: ModelRules;
  overheads: ModelOverheads;
  /** where the guest's non-zero memory came from */
  nonZeroFrom: 'counted-on-host' | 'not-free-in-guest' | 'used-in-guest';
  /** where the workload's write rate came from */
  writeRateFrom: 'configured' | 'workload-heartbeats' | 'calc-dirty-rate' | 'service-schedule' | 'none';
}

/** What the row keeps: the inputs, and the prediction with at most this many passes per attempt. */
export interface RecordedPrediction {
  inputs: PredictionInputs;
  /** each attempt's passes cut at MAX_RECORDED_PASSES; passCount says how many there were */
  result: Omit<Prediction, 'attempts'> & { attempts: (PredictedAttempt & { passCount: number })[] };
}

const MAX_RECORDED_PASSES = 30;

/** What the trial measured before migrating. */
export interface PreMigration {
  memory: MemoryCategories | null;
  idleDirtyMiBps: number | null;
  /** calc-dirty-rate with the workload running */
  dirtyRateMiBps: number | null;
  /** the workload's own count of its page writes */
  workloadWriteMiBps: number | null;
}

/** null when a needed input is missing: no bandwidth to assume (xl has no cap), or no look inside the guest. */
export function predictionInputs(input: TrialInput, m: PreMigration, hypervisor: ModelRules['hypervisor'], overheads: ModelOverheads = DEFAULT_OVERHEADS): PredictionInputs | null {
  const capMiBps = input.migration.maxBandwidth / 2 ** 20;
  // the host's count is what pass 0 sends; the guest's own view misses freed pages that kept their contents
  const nonZero = m.memory?.nonZeroOnHostMiB ?? m.memory?.notFreeInGuestMiB ?? m.memory?.usedInGuestMiB ?? null;
  if (!(capMiBps > 0) || nonZero === null) return null;
  const service = input.service;
  // A service's SETs rewrite its key set in turn at the schedule's rate: a sequential writer of that many bytes a second.
  const w = input.workload ?? (service ? { workingSetMiB: service.keySetMiB, rate: serviceWriteMiBps(service), pattern: 'seq' as const } : null);
  let writeRateFrom: PredictionInputs['writeRateFrom'] = 'none';
  let writeRate = 0;
  if (service && w) [writeRate, writeRateFrom] = [w.rate as number, 'service-schedule'];
  else if (w && w.rate !== 'max') [writeRate, writeRateFrom] = [w.rate, 'configured'];
  else if (w && m.workloadWriteMiBps !== null) [writeRate, writeRateFrom] = [m.workloadWriteMiBps, 'workload-heartbeats'];
  else if (w && m.dirtyRateMiBps !== null) [writeRate, writeRateFrom] = [m.dirtyRateMiBps, 'calc-dirty-rate'];
  return {
    guest: {
      memoryMiB: input.spec.memoryMiB,
      nonZeroMiB: Math.min(nonZero, input.spec.memoryMiB),
      workload: w ? { workingSetMiB: w.workingSetMiB, writeRateMiBps: writeRate, pattern: w.pattern } : null,
      idleDirtyMiBps: m.idleDirtyMiBps ?? 0,
    },
    link: { bandwidthMiBps: capMiBps, source: 'cap' },
    rules: {
      hypervisor,
      stallIterations: input.migration.stallIterations,
      completionTimeoutSPerGiB: input.migration.completionTimeoutSPerGiB,
      fallback: input.fallback,
      ...(input.migration.fallbackMaxBandwidth ? { fallbackBandwidthMiBps: input.migration.fallbackMaxBandwidth / 2 ** 20 } : {}),
    },
    overheads,
    nonZeroFrom: m.memory?.nonZeroOnHostMiB != null ? 'counted-on-host' : m.memory?.notFreeInGuestMiB != null ? 'not-free-in-guest' : 'used-in-guest',
    writeRateFrom,
  };
}

/** How fast a service's SETs write values (MiB/s): what the model takes as its write rate. */
export const serviceWriteMiBps = (s: NonNullable<TrialInput['service']>) => (s.requestsPerS * s.setFraction * s.valueBytes) / 2 ** 20;

export function predictFor(inputs: PredictionInputs, plans: readonly AttemptPlan[]): RecordedPrediction {
  const result = predictTrial(inputs.guest, inputs.link, plans, inputs.rules, inputs.overheads);
  return { inputs, result: { ...result, attempts: result.attempts.map((a) => ({ ...a, passes: a.passes.slice(0, MAX_RECORDED_PASSES), passCount: a.passes.length })) } };
}
