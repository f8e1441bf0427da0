/**
 * One trial, as the paper runs it: VM up on the source, workload at the trial's working set,
 * probe on, live migration escalating through the ladder, offline fallback, probe off, metrics,
 * record, and teardown that always runs.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities, sleep, upsertSearchAttributes, type ActivityOptions } from '@temporalio/workflow';
import { PATCH } from './patches.js';
import { LONG, RECORD, SHORT, TEARDOWN, WORKLOAD } from './policies.js';
import { deriveMetrics, endToEndCost } from './metrics.js';
import { SA } from './search-attributes.js';
import { planAttempts, tuningText } from './ladder.js';
import type { AttemptRecord, AttemptResult, ServiceStarted, TrialActivities, TrialInput, TrialOutcome, TrialRow } from './trial-types.js';
import { migrationMarks } from './app-marks.js';
import { predictFor, predictionInputs, type RecordedPrediction } from './trial-prediction.js';

const hypervisorOf = (input: TrialInput) => (input.audit?.hypervisor === 'xen' ? 'xen' : input.audit?.hypervisor === 'libvirt' ? 'libvirt' : 'qemu');

/** e.g. "model: converges in 1 pass, DT 180 ms" or "model: stalls after 12 passes" */
function attemptPredictionText(p: RecordedPrediction, index: number): string {
  const a = p.result.attempts.find((x) => x.index === index);
  if (!a) return 'model: not reached';
  const passes = `${a.passCount} pass${a.passCount === 1 ? '' : 'es'}`;
  return a.end === 'converged' ? `model: converges in ${passes}, DT ${Math.round(a.dtMs!)} ms, TMT ${(a.tmtMs / 1000).toFixed(1)} s` : `model: ${a.end === 'stall' ? 'stalls' : 'times out'} after ${passes}`;
}

/**
 * A long step waits for its activity to acknowledge a cancel (a migration step cancels the
 * migration and leaves the VM on the source first), so the teardown never races a migration.
 * Trials started before the patch cancelled without waiting.
 */
const awaitingCancel = (options: ActivityOptions): ActivityOptions =>
  patched(PATCH.waitForCancelledSteps) ? { ...options, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : options;

/** The activities with a summary of this one step, as the Temporal UI shows it in the history. */
const step = (options: ActivityOptions, summary: string) => proxyActivities<TrialActivities>({ ...options, summary });

const MiB = 2 ** 20;
/** a migration's bandwidth cap in words; 0 is none (xl has none) */
const capText = (bytesPerS: number) => (bytesPerS ? `${Math.round(bytesPerS / MiB)} MiB/s` : 'no bandwidth cap');
/** after a completed move, how long the probe may wait for the guest to answer again */
const PROBE_AWAIT_REPLY_MS = 60_000;
/** how long a service's load runs on after the move, so that its latencies after it have a sample */
const APP_LOAD_AFTER_MS = 3_000;
const describe = (e: unknown) => (e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e));

export async function trial(input: TrialInput): Promise<TrialRow> {
  const { trialId, src, dst } = input;
  // The VM is this trial's (or, reused, its lane's): lanes reuse VM names, and a stale trial's teardown must not stop ours.
  const reuse = input.vm;
  const spec = { ...input.spec, owner: reuse?.owner ?? trialId };
  const vm = spec.name;
  // a service trial's steps are new in 0.6: a history without the patch never has one
  const service = input.service && patched(PATCH.appService) ? input.service : undefined;
  const ws = input.workload ? `${input.workload.workingSetMiB} MiB working set` : service ? `${service.service} with a ${service.keySetMiB} MiB key set` : 'idle';
  const attempts: AttemptRecord[] = [];
  let outcome: TrialOutcome;
  let row: TrialRow | undefined;
  let dirtyRateMiBps: number | null = null;
  let idleDirtyRateMiBps: number | null = null;
  let workloadWriteMiBps: number | null = null;
  let prediction: RecordedPrediction | null | undefined;
  let memory: TrialRow['memory'] = null;
  let serviceStarted: ServiceStarted | undefined;
  let vmFresh = reuse?.fresh ?? true;
  // Whatever happens, the VM must not be left running, least of all on both hosts.
  const tearDown = (keepOn?: string) =>
    CancellationScope.nonCancellable(() =>
      keepOn
        ? step(TEARDOWN, `stop ${vm} on ${src} and its workloads; leave it running on ${keepOn} for the lane's next trial`).teardown({ trialId, hosts: [src, dst], spec, keepOn })
        : step(TEARDOWN, `tear down ${vm} on ${src} and ${dst}`).teardown({ trialId, hosts: [src, dst], spec }),
    );
  // rows of trials started before the model have none of its fields
  const measuredForModel = () => (prediction === undefined ? {} : { prediction, idleDirtyRateMiBps, workloadWriteMiBps });
  try {
    const prepared = await step(SHORT, reuse && !reuse.fresh ? `find ${vm} running on ${src}, where the lane's last trial moved it (boot it if it is not)` : `start ${vm} on ${src} (${spec.memoryMiB} MiB, ${spec.vcpus} vCPU)`).prepareVm({ host: src, spec });
    // what the host said, not what the lane expected: a kept VM that did not survive was booted anew
    if (reuse && prepared) vmFresh = prepared.booted;
    await step(awaitingCancel(LONG), `wait for ${vm} to answer ping (${spec.guestCidr.split('/')[0]})`).waitForGuest({ spec, timeoutMs: input.bootTimeoutMs });
    // The model's inputs are measured before the move: the idle guest's own dirtying first.
    const predicting = patched(PATCH.predictPrecopy);
    if (predicting) idleDirtyRateMiBps = await step(SHORT, `measure ${vm}'s dirty rate on ${src} before any workload (calc-dirty-rate)`).measureDirtyRate({ host: src, vm });
    // Before the workload runs, so that its dirtying does not slow the write down.
    const diskWitness = spec.disk && patched(PATCH.diskWitness)
      ? await step(SHORT, `write a witness file to ${vm}'s disk (16 MiB of random bytes, synced)`).writeDiskWitness({ spec })
      : undefined;
    if (input.workload) {
      const w = input.workload;
      const started = await step(awaitingCancel(WORKLOAD), `dirty ${w.workingSetMiB} MiB in ${vm} (${w.rate === 'max' ? 'flat out' : `${w.rate} MiB/s`}, ${w.pattern})`).startWorkload({ spec, workload: w });
      workloadWriteMiBps = started?.writeMiBps ?? null;
      dirtyRateMiBps = await step(SHORT, `measure ${vm}'s dirty rate on ${src} (calc-dirty-rate)`).measureDirtyRate({ host: src, vm });
    }
    if (service) {
      const sets = `${Math.round(service.setFraction * 100)} % SETs of ${service.valueBytes} B`;
      serviceStarted = await step(awaitingCancel(WORKLOAD), `start ${service.service} in ${vm} and load its ${service.keySetMiB} MiB key set from the controller`).startService({ spec, service });
      await step(SHORT, `start the open-loop load on ${service.service}: ${service.requestsPerS} requests/s, ${sets}`).startAppLoad({ trialId, spec, service, port: serviceStarted.port });
      dirtyRateMiBps = await step(SHORT, `measure ${vm}'s dirty rate on ${src} under the load (calc-dirty-rate)`).measureDirtyRate({ host: src, vm });
    }
    const inGuest = input.measureGuest ?? true;
    // The probe starts while the memory is read: neither waits for the other.
    [memory] = await Promise.all([
      step(SHORT, `read ${vm}'s memory: configured, on ${src}${inGuest ? ', in the guest' : ''}`).memoryCategories({ host: src, spec, requestedMiB: input.workload?.workingSetMiB ?? service?.keySetMiB ?? 0, dirtyRateMiBps, inGuest }),
      step(SHORT, `start the ${input.probeIntervalMs} ms ping probe to ${vm}`).startProbe({ trialId, spec, intervalMs: input.probeIntervalMs }),
    ]);
    const clockBefore = inGuest ? await step(SHORT, `read ${vm}'s clock before the move`).guestClock({ spec }) : undefined;

    let final: Extract<AttemptResult, { status: 'completed' }> | undefined;
    const plans = planAttempts(input.migration, input.ladder);
    // Predicted before the first migrate command, so it is in the history before the outcome is known.
    if (predicting) {
      const inputs = predictionInputs(input, { memory, idleDirtyMiBps: idleDirtyRateMiBps, dirtyRateMiBps, workloadWriteMiBps }, hypervisorOf(input));
      prediction = inputs ? predictFor(inputs, plans) : null;
    }
    for (const plan of plans) {
      // e.g. "attempt 1: downtime limit 1000 ms, 112 MiB/s" or "attempt 2: auto-converge, downtime limit 1000 ms, 112 MiB/s"
      const tuned = tuningText(plan.tuning);
      const how = plan.maxBandwidth
        ? [plan.name, ...(plan.name.startsWith('downtime limit') ? [] : [`downtime limit ${plan.downtimeLimitMs} ms`]), capText(plan.maxBandwidth), ...(tuned ? [tuned] : [])].join(', ')
        : `${plan.name}, as the hypervisor migrates (no cap, no downtime limit)`;
      const predicted = prediction ? ` — ${attemptPredictionText(prediction, plan.index)}` : '';
      const result = await step(awaitingCancel(LONG), `migrate ${vm} ${src}→${dst}, ${ws}, attempt ${plan.index}: ${how}${predicted}`).liveMigrate({ trialId, src, dst, spec, plan, rules: input.migration });
      attempts.push({ plan, result });
      if (result.status === 'completed') {
        final = result;
        outcome = { kind: 'converged', attempt: plan.index, step: plan.name };
        break;
      }
    }
    if (!final && input.fallback === 'offline') {
      const bw = input.migration.fallbackMaxBandwidth ?? input.migration.maxBandwidth;
      const result = await step(awaitingCancel(LONG), `migrate ${vm} ${src}→${dst} offline (paused), attempt ${plans.length}, ${capText(bw)}`).offlineMigrate({ trialId, attempt: plans.length, src, dst, spec, maxBandwidth: bw });
      attempts.push({ plan: { index: plans.length, name: 'offline' }, result });
      if (result.status === 'completed') {
        final = result;
        outcome = { kind: 'offline', afterAttempts: plans.length };
      }
    }
    // After the move, the probe's end, the guest's clock and its workload's check are independent.
    const [probe, clockAfter, integrity, disk] = await Promise.all([
      step(SHORT, `stop the ping probe to ${vm} and read its downtime`).stopProbe({ trialId, intervalMs: input.probeIntervalMs, ...(final ? { awaitReplyMs: PROBE_AWAIT_REPLY_MS } : {}) }),
      final && clockBefore ? step(SHORT, `read ${vm}'s clock after the move (on ${dst})`).guestClock({ spec }) : undefined,
      final && input.workload ? step(SHORT, `check ${vm}'s memory arrived whole (stale writes after a full pass)`).workloadIntegrity({ spec }) : null,
      final && diskWitness ? step(SHORT, `check ${vm}'s disk arrived whole (the witness file read back from the disk)`).checkDiskWitness({ spec, sha256: diskWitness }) : null,
    ]);
    // The service's load runs on a little after the move, then is cut by the move's marks.
    let app: TrialRow['app'];
    if (service && serviceStarted) {
      if (final) await sleep(APP_LOAD_AFTER_MS);
      const marks = final ? migrationMarks(attempts) : null;
      app = await step(SHORT, `stop the load on ${service.service} and read what its clients saw`).stopAppLoad({ trialId, service, version: serviceStarted.version, marks });
    }
    const lag = clockAfter && clockBefore ? Math.round((clockAfter.offsetMs - clockBefore.offsetMs) * 10) / 10 : undefined;
    outcome ??= { kind: 'failed', reason: `no attempt completed (${attempts.map((a) => `${a.plan.name}: ${a.result.status}`).join('; ')})` };
    row = {
      trialId, src, dst,
      workingSetMiB: input.workload?.workingSetMiB ?? service?.keySetMiB ?? null,
      outcome,
      metrics: final ? deriveMetrics(final.final, probe ?? undefined, lag, final.observedTotalMs) : null,
      probe, dirtyRateMiBps, memory, integrity, attempts,
      ...(diskWitness ? { disk } : {}),
      ...(app !== undefined ? { app } : {}),
      endToEnd: endToEndCost(attempts),
      ...measuredForModel(),
      ...(reuse ? { vm: { fresh: vmFresh } } : {}),
    };
  } catch (err) {
    if (isCancellation(err)) {
      await tearDown();
      throw err;
    }
    row = {
      trialId, src, dst,
      workingSetMiB: input.workload?.workingSetMiB ?? service?.keySetMiB ?? null,
      outcome: { kind: 'failed', reason: describe(err) },
      metrics: null, probe: null, dirtyRateMiBps, memory, attempts,
      ...measuredForModel(),
      ...(reuse ? { vm: { fresh: vmFresh } } : {}),
    };
  }
  // The row is written while the VM is torn down; the trial ends when both are done.
  // A reused VM that moved stays on the destination for the lane's next trial; any other is stopped everywhere.
  const tornDown = tearDown(reuse?.keep && row.outcome.kind !== 'failed' ? dst : undefined);
  try {
    await step(RECORD, `record ${trialId} (${row.outcome.kind})`).recordTrial({ trialId, row });
  } finally {
    await tornDown;
  }
  // Filterable in the UI and by `miglab ls`: the trial's outcome, once known.
  if (input.audit?.searchAttributes) upsertSearchAttributes([{ key: SA.outcome, value: row.outcome.kind }]);
  if (!row) throw ApplicationFailure.nonRetryable('trial ended without a row');
  return row;
}
