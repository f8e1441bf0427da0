/**
 * The trial's named step options: timeouts and retry policies. Sandbox code (see README.md); the
 * fault tests derive their outage windows from these, so a change of one moves the other.
 */
import type { ActivityOptions } from '@temporalio/workflow';

export const SHORT: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2 },
};

// Migrations run long and heartbeat every poll; a worker that dies is noticed within 30 s.
export const LONG: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', backoffCoefficient: 2 },
};

// Starting the workload touches the whole working set first: a nested Xen guest takes seconds per MiB.
export const WORKLOAD: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', backoffCoefficient: 2 },
};

// A row that cannot be written (disk full, permissions) must never be dropped: keep trying, with
// the error on the pending activity for the UI and `miglab status`, until the store is mended.
// Writing is idempotent (the same row twice is a no-op), so retries never duplicate it.
export const RECORD: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' }, // no maximumAttempts: unlimited
};

// Teardown must end with the VM stopped everywhere: a host that is down parks the trial here,
// retrying with the error on the pending activity, until the host is back (other lanes go on).
export const TEARDOWN: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' }, // unlimited
};

/** How long a step with this retry policy keeps trying before it gives up: the sum of its backoffs (s). */
export function retrySpanS(o: ActivityOptions): number {
  const r = o.retry!;
  const first = durationS(r.initialInterval ?? '1 second');
  let span = 0;
  for (let i = 0; i < (r.maximumAttempts ?? Infinity) - 1 && i < 100; i++) span += Math.min(first * (r.backoffCoefficient ?? 2) ** i, r.maximumInterval ? durationS(r.maximumInterval) : Infinity);
  return span;
}

/** "2 seconds", "1 minute" → seconds (the forms used here). */
export function durationS(d: unknown): number {
  const m = /^(\d+(?:\.\d+)?)\s*(second|minute|hour)s?$/.exec(String(d));
  if (!m) throw new Error(`unsupported duration ${String(d)}`);
  return Number(m[1]) * { second: 1, minute: 60, hour: 3600 }[m[2] as 'second' | 'minute' | 'hour'];
}
