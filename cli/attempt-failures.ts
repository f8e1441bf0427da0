/**
 * `miglab run`'s one line per failed attempt of a step: what the user sees of a step that is being
 * retried, instead of the SDK's multi-line failure objects (those go to the SDK's log file).
 */
import type { TrialStep } from './run.js';

/** The lines to show for failures not shown yet; `shown` remembers them across polls. */
export function newFailureLines(steps: readonly TrialStep[], shown: Set<string>, sdkLog: string): string[] {
  const lines: string[] = [];
  for (const st of steps) {
    const key = `${st.trialId} ${st.step} ${st.attempt}`;
    if (st.attempt <= 1 || !st.lastFailure || shown.has(key)) continue;
    shown.add(key);
    lines.push(`${st.trialId} ${st.step} attempt ${st.attempt}${st.maxAttempts ? `/${st.maxAttempts}` : ''}: the last one failed: ${st.lastFailure.split('\n')[0]} (details: ${sdkLog})`);
  }
  return lines;
}
