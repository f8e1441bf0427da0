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

/** Waits, ending early with CancelledFailure when the activity is cancelled (a plain timer outside one). */
export function waitCancellably(ms: number): Promise<void> {
  const c = activityContext();
  return c ? c.sleep(ms) : sleep(ms);
}

/** The failure a cancelled step ends with once it has left things in a known place. */
export const cancelledStep = (what: string) => new CancelledFailure(`cancelled: ${what}`);
