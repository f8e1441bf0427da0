/**
 * Cooperative cancellation for activities. The server's cancel reaches an activity at its next
 * heartbeat (the worker's throttle is 2 s: workers/worker.ts). A step that waits gives up at once
 * (`waitCancellably`); a migration step cancels the migration, leaves the VM running on the source
 * and then reports itself cancelled. A worker that is shutting down is not a cancel: the step goes
 * on until the worker's shutdown deadline, and a retry on the next worker finds the migration where
 * it is.
 */
import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { sleep } from '../lib/sleep.js';

/** The running activity's context, or undefined outside an activity (tests, the CLI). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Whether the server asked this activity to stop (its trial or campaign was cancelled). */
export function cancelRequested(): boolean {
  return activityContext()?.cancellationDetails?.cancelRequested === true;
}

/**
 * Whether the server no longer takes this attempt's result: a retry has its step (its heartbeat
 * timed out: the server answers the late heartbeat "not found", measured in
 * test/superseded-attempt.server.test.ts), or its workflow has ended without waiting for it
 * (terminated). Not a cancel, but this attempt must stop touching what it drives: a retry may be
 * driving it now.
 */
export function supersededAttempt(): boolean {
  const d = activityContext()?.cancellationDetails;
  return !!d && !d.cancelRequested && (d.timedOut || d.notFound);
}

/** Waits, ending early with CancelledFailure when the activity is cancelled (a plain timer outside one). */
export function waitCancellably(ms: number): Promise<void> {
  const c = activityContext();
  return c ? c.sleep(ms) : sleep(ms);
}

/** The failure a cancelled step ends with once it has left things in a known place. */
export const cancelledStep = (what: string) => new CancelledFailure(`cancelled: ${what}`);
