/**
 * The escalation ladder as plain data: attempt 0 is default precopy, each further attempt applies
 * one more rung on top of the ones before (as oVirt and Nova escalate), then the fallback.
 */
import type { LadderStep } from '../campaign/spec.js';
import type { MigrationTuning } from './trial-types.js';

export interface AttemptPlan {
  /** 0 for default precopy, k for the k-th ladder rung */
  index: number;
  name: string;
  maxBandwidth: number;
  downtimeLimitMs: number;
  autoConverge: { initialThrottle: number; increment: number } | null;
  /** post-copy permitted (the ladder's rung, or the trial's post-copy level): switch after postcopyAfterPasses passes (default 1) */
  postcopy: boolean;
  postcopyAfterPasses?: number;
  /** the trial's settings beyond cap and limit, the same on every attempt (a ladder's auto-converge rung overrides the tuning's) */
  tuning?: MigrationTuning;
}

export function planAttempts(base: { maxBandwidth: number; downtimeLimitMs: number; tuning?: MigrationTuning }, ladder: readonly LadderStep[]): AttemptPlan[] {
  // a post-copy level permits post-copy from the first attempt on, after its passes
  const level = base.tuning?.postcopy;
  let current: AttemptPlan = {
    index: 0, name: 'precopy', ...base, autoConverge: null, postcopy: !!level,
    ...(level ? { postcopyAfterPasses: level.afterPasses } : {}),
  };
  const plans = [current];
  ladder.forEach((step, i) => {
    const next: AttemptPlan = { ...current, index: i + 1 };
    switch (step.step) {
      case 'raise-downtime':
        next.downtimeLimitMs = step.downtimeLimitMs;
        next.name = `downtime limit ${step.downtimeLimitMs} ms`;
        break;
      case 'auto-converge':
        next.autoConverge = { initialThrottle: step.initialThrottle, increment: step.increment };
        next.name = `auto-converge (throttle ${step.initialThrottle}% +${step.increment}%)`;
        break;
      case 'postcopy':
        next.postcopy = true;
        next.name = 'post-copy';
        break;
    }
    plans.push(next);
    current = next;
  });
  return plans;
}

/** A tuning in words for a step's summary, e.g. "xbzrle 64 MiB, multifd 4×zstd"; '' for none. */
export function tuningText(t: MigrationTuning | undefined): string {
  if (!t) return '';
  return [
    ...(t.xbzrleCacheMiB ? [`xbzrle ${t.xbzrleCacheMiB} MiB`] : []),
    ...(t.multifd ? [`multifd ${t.multifd.channels}${t.multifd.compression === 'none' ? '' : `×${t.multifd.compression}`}`] : []),
    ...(t.autoConverge ? [`auto-converge ${t.autoConverge.initialThrottle}%+${t.autoConverge.increment}%`] : []),
    ...(t.pauseBeforeSwitchover ? ['paused before switchover'] : []),
    ...(t.pause ? [`guest paused after ${t.pause.afterPasses} pass${t.pause.afterPasses === 1 ? '' : 'es'}`] : []),
    ...(t.postcopy ? [`post-copy after ${t.postcopy.afterPasses} pass${t.postcopy.afterPasses === 1 ? '' : 'es'}${t.postcopy.bandwidthMiBps === null ? '' : ` at ${t.postcopy.bandwidthMiBps} MiB/s`}`] : []),
  ].join(', ');
}
