/**
 * One trial, as the paper runs it: VM up on the source, workload at the trial's working set,
 * probe on, live migration escalating through the ladder, offline fallback, probe off, metrics,
 * record, and teardown that always runs.
 */
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import { deriveMetrics } from '../activities/migration/metrics.js';
import { planAttempts } from './ladder.js';
import type { AttemptRecord, AttemptResult, TrialActivities, TrialInput, TrialOutcome, TrialRow } from './trial-types.js';

const short = proxyActivities<TrialActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2 },
});

// Migrations run long and heartbeat every poll; a worker that dies is noticed within 30 s.
const long = proxyActivities<TrialActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', backoffCoefficient: 2 },
});

// A row that cannot be written (disk full, permissions) must never be dropped: keep trying, with
// the error on the pending activity for the UI and `miglab status`, until the store is mended.
// Writing is idempotent (the same row twice is a no-op), so retries never duplicate it.
const recorder = proxyActivities<TrialActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' }, // no maximumAttempts: unlimited
});

// Teardown must end with the VM stopped everywhere: a host that is down parks the trial here,
// retrying with the error on the pending activity, until the host is back (other lanes go on).
const keeper = proxyActivities<TrialActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' }, // unlimited
});

const describe = (e: unknown) => (e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e));

export async function trial(input: TrialInput): Promise<TrialRow> {
  const { trialId, src, dst } = input;
  // The VM is this trial's: lanes reuse VM names, and a stale trial's teardown must not stop ours.
  const spec = { ...input.spec, owner: trialId };
  const attempts: AttemptRecord[] = [];
  let outcome: TrialOutcome;
  let row: TrialRow | undefined;
  let dirtyRateMiBps: number | null = null;
  let memory: TrialRow['memory'] = null;
  try {
    await short.prepareVm({ host: src, spec });
    await long.waitForGuest({ spec, timeoutMs: input.bootTimeoutMs });
    if (input.workload) {
      await short.startWorkload({ spec, workload: input.workload });
      dirtyRateMiBps = await short.measureDirtyRate({ host: src, vm: spec.name });
    }
    memory = await short.memoryCategories({ host: src, spec, requestedMiB: input.workload?.workingSetMiB ?? 0, dirtyRateMiBps });
    await short.startProbe({ trialId, spec, intervalMs: input.probeIntervalMs });
    const clockBefore = await short.guestClock({ spec });

    let final: Extract<AttemptResult, { status: 'completed' }> | undefined;
    const plans = planAttempts(input.migration, input.ladder);
    for (const plan of plans) {
      const result = await long.liveMigrate({ trialId, src, dst, spec, plan, rules: input.migration });
      attempts.push({ plan, result });
      if (result.status === 'completed') {
        final = result;
        outcome = { kind: 'converged', attempt: plan.index, step: plan.name };
        break;
      }
    }
    if (!final && input.fallback === 'offline') {
      const result = await long.offlineMigrate({ trialId, attempt: plans.length, src, dst, spec, maxBandwidth: input.migration.fallbackMaxBandwidth ?? input.migration.maxBandwidth });
      attempts.push({ plan: { index: plans.length, name: 'offline' }, result });
      if (result.status === 'completed') {
        final = result;
        outcome = { kind: 'offline', afterAttempts: plans.length };
      }
    }
    const probe = await short.stopProbe({ trialId, intervalMs: input.probeIntervalMs });
    const clockAfter = final ? await short.guestClock({ spec }) : undefined;
    const lag = clockAfter ? Math.round((clockAfter.offsetMs - clockBefore.offsetMs) * 10) / 10 : undefined;
    const integrity = final && input.workload ? await short.workloadIntegrity({ spec }) : null;
    outcome ??= { kind: 'failed', reason: `no attempt completed (${attempts.map((a) => `${a.plan.name}: ${a.result.status}`).join('; ')})` };
    row = {
      trialId, src, dst,
      workingSetMiB: input.workload?.workingSetMiB ?? null,
      outcome,
      metrics: final ? deriveMetrics(final.final, probe ?? undefined, lag, final.observedTotalMs) : null,
      probe, dirtyRateMiBps, memory, integrity, attempts,
    };
  } catch (err) {
    if (isCancellation(err)) throw err;
    row = {
      trialId, src, dst,
      workingSetMiB: input.workload?.workingSetMiB ?? null,
      outcome: { kind: 'failed', reason: describe(err) },
      metrics: null, probe: null, dirtyRateMiBps, memory, attempts,
    };
  } finally {
    // Whatever happened, the VM must not be left running, least of all on both hosts.
    await CancellationScope.nonCancellable(() => keeper.teardown({ trialId, hosts: [src, dst], spec }));
  }
  await recorder.recordTrial({ trialId, row });
  if (!row) throw ApplicationFailure.nonRetryable('trial ended without a row');
  return row;
}
