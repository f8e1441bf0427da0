/**
 * `miglab run <campaign.yaml>`: validate, bring up the bed (or check the campaign's own hosts), start (or re-attach to) the campaign
 * workflow with a worker in this process, show progress while it runs, end with a summary.
 */
import { ServiceError, WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { createCampaignActivities } from '../activities/campaign-activities.js';
import { createTrialActivities } from '../activities/trial-activities.js';
import { loadCampaign, type LoadedCampaign } from '../campaign/load.js';
import { campaignPlan } from '../campaign/trials.js';
import { trialCount } from '../workflows/campaign-plan.js';
import { ExitCode, UserError } from '../lib/errors.js';
import { SshPool } from '../activities/ssh/pool.js';
import type { HypervisorBackend } from '../activities/backend.js';
import { backendForLanes } from './backend-for.js';
import { hostKind, hypervisorLabel, hypervisorsOf, lanePairs } from '../campaign/pairs.js';
import { accelRequest, resolveGuestCpus } from './guest-accel.js';
import type { GuestCpu } from '../activities/qemu/guest-cpu.js';
import { manifestOf } from '../results/manifest.js';
import { ResultsStore } from '../results/store.js';
import { runProvenance, sha256File, type RunProvenance } from '../results/provenance.js';
import { connectTemporal, workflowUiUrl, type TemporalSession, type TemporalTarget } from '../server/connection.js';
import { SHUTDOWN_FORCE_TIME, workerIdentity } from '../workers/worker.js';
import { hostSummary } from './host-summary.js';
import { checkTuningOnHosts } from './tuning-check.js';
import { campaignTaskQueue, campaignWorkflowId, pairTaskQueue, legacyTrialWorkflowId, tryParseTrialId, progressQuery, trialWorkflowId, WorkflowType } from '../workflows/names.js';
import { GracefulShutdownPeriodExpiredError, PromiseCompletionTimeoutError } from '@temporalio/worker';
import type { RunnableWorker } from '../workers/worker-group.js';
import { hasSearchAttributes } from '../server/search-attributes.js';
import { SA } from '../workflows/search-attributes.js';
import { withBedWorker } from './bed-worker.js';
import { checkHosts, siteToRun, type CampaignSite } from './site.js';
import type { CampaignInput, CampaignProgress } from '../workflows/campaign.js';
import type { TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;

export interface RunOptions {
  file: string;
  log: (line: string) => void;
  progress: (p: CampaignProgress, elapsedS: number, steps: TrialStep[]) => void;
  temporal?: TemporalTarget;
  /** where the store lives, overriding the file's `results:` (tests) */
  resultsDir?: string;
  /** the bed's subnet when the run has to bring the bed up */
  bedSubnet?: string;
  /** the controller's name its workers show on every step (default MIGLAB_CONTROLLER, else the host's) */
  controller?: string;
}

/** A campaign ready to run: where, its store, its workflow input, and its worker's activities. */
export interface PreparedCampaign {
  spec: LoadedCampaign['spec'];
  where: CampaignSite;
  pairs: [string, string][];
  store: ResultsStore;
  resultsDir: string;
  input: CampaignInput;
  activities: (deps: { pool: SshPool; backend: HypervisorBackend; identity?: string }) => object;
  /** the pairs' own queues, from the campaign's queue (a campaign already running keeps the queue it started on) */
  pairQueues: (mainQueue: string) => string[];
  /** the campaign's hypervisor backend on its site */
  backend: (pool: SshPool) => Promise<HypervisorBackend>;
  /**
   * writes campaign.json (the report reads it) with the run's provenance: once the campaign has
   * started, not before; again with its end time once it has closed
   */
  writeManifest: (backend: HypervisorBackend) => Promise<RunProvenance>;
  finishManifest: (provenance: RunProvenance) => Promise<void>;
}

/**
 * Everything `run` and `worker` share: the file validated, the bed up (or the campaign's own
 * hosts checked), the manifest written, the workflow input built. Nothing runs yet.
 */
export async function prepareCampaign(o: { file: string; resultsDir?: string; bedSubnet?: string; log: (l: string) => void; loaded?: LoadedCampaign }): Promise<PreparedCampaign> {
  const loaded = o.loaded ?? (await loadCampaign(o.file));
  const spec = loaded.spec;
  const where = await siteToRun(loaded, { ...(o.bedSubnet ? { bedSubnet: o.bedSubnet } : {}), log: o.log });
  const hostNames = where.site.hosts.map((h) => h.name);
  const lanePairsOf = lanePairs(spec, hostNames);
  const pairs = lanePairsOf.map((l): [string, string] => [l.src, l.dst]);
  const mixed = hypervisorsOf(spec).length > 1;
  for (const [s, d] of pairs) {
    for (const h of [s, d]) if (!hostNames.includes(h)) throw new UserError(`pair host "${h}" is not a host of ${spec.bed ? `bed ${spec.bed}` : 'the campaign'}`, `use one of: ${hostNames.join(', ')}`);
  }
  let guestCpu: Record<string, GuestCpu> | undefined;
  // QEMU's and libvirt's hosts are asked what they can honour; Xen's run xl's fixed settings
  const kindOf = hostKind(lanePairsOf, spec.hypervisor);
  const isXen = (host: string) => kindOf(host) === 'xen';
  const qemuLanes = lanePairsOf.map((l, i) => ({ ...l, i })).filter((l) => l.hypervisor !== 'xen');
  if (!where.bed || qemuLanes.length) {
    const pool = new SshPool();
    try {
      if (!where.bed) await checkHosts(where, pool, (h) => (isXen(h) ? 'xl' : 'qemu-system-x86_64'));
      if (qemuLanes.length) {
        const used = where.site.hosts.filter((h) => qemuLanes.some((l) => l.src === h.name || l.dst === h.name));
        const refused = await checkTuningOnHosts(spec, used, pool);
        if (refused.length) throw loaded.refuse(refused);
        o.log('accelerator:');
        guestCpu = await resolveGuestCpus({ ...accelRequest(spec.vm), kernel: where.vmSpec(qemuLanes[0]!.i).kernel, hosts: where.site.hosts.filter((h) => !isXen(h.name)), pairs: qemuLanes.map((l): [string, string] => [l.src, l.dst]) }, pool, o.log);
      }
    } finally {
      await pool.closeAll();
    }
  }
  const resultsDir = o.resultsDir ?? loaded.resolvePath(spec.results);
  const store = new ResultsStore(resultsDir);
  const input: CampaignInput = {
    campaign: spec.campaign,
    lanes: lanePairsOf.map(({ src, dst, hypervisor }, i) => ({
      src,
      dst,
      ...(mixed ? { hypervisor } : {}),
      // the pair's trials run on its own queue, served by workers that reach it
      taskQueue: pairTaskQueue(campaignTaskQueue(spec.campaign), src, dst),
      template: {
        spec: where.vmSpec(i),
        migration: {
          // 0: no cap (xl has none: a Xen pair beside QEMU pairs runs uncapped)
          maxBandwidth: hypervisor === 'xen' ? 0 : Math.round((spec.migration.bandwidthMiBps ?? 0) * MiB),
          downtimeLimitMs: spec.migration.downtimeLimitMs,
          completionTimeoutSPerGiB: spec.migration.completionTimeoutSPerGiB,
          stallIterations: spec.migration.stall.iterations,
        },
        // xl has no rungs to climb (validation refuses them when every pair runs Xen)
        ladder: hypervisor === 'xen' ? [] : spec.ladder,
        fallback: spec.fallback,
        probeIntervalMs: spec.probe.intervalMs,
        bootTimeoutMs: 120_000,
        measureGuest: spec.measure.guest,
      },
    })),
    plan: campaignPlan(spec),
    ...(spec.vm.reuse === 'ping-pong' ? { reuse: 'ping-pong' as const } : {}),
  };
  const backend = (pool: SshPool) => backendForLanes(lanePairsOf, spec.hypervisor, where.site, where.bed, pool, guestCpu);
  const campaignFileSha256 = await sha256File(o.file);
  const activities = ({ pool, backend, identity }: { pool: SshPool; backend: HypervisorBackend; identity?: string }) => ({
    ...createTrialActivities({ pool, backend, inventory: where.site, store, campaignFileSha256, ...(identity ? { identity } : {}) }),
    ...createCampaignActivities({ store }),
  });
  const writeManifest = async (b: HypervisorBackend) => {
    const vm = where.vmSpec(0);
    const hosts = (await Promise.all(hostNames.map((h) => b.describeHost(h).catch(() => null)))).filter((x) => x !== null);
    const provenance = await runProvenance({ campaignFile: o.file, guestKernel: vm.kernel, guestInitrd: vm.initrd, ...(vm.disk ? { guestDisk: vm.disk.image } : {}), hosts });
    for (const line of hostSummary(hosts, hostNames)) o.log(line);
    await store.writeManifest(manifestOf(spec, provenance));
    return provenance;
  };
  const finishManifest = (provenance: RunProvenance) => store.writeManifest(manifestOf(spec, { ...provenance, endedAt: new Date().toISOString() }));
  const pairQueues = (main: string) => pairs.map(([src, dst]) => pairTaskQueue(main, src, dst));
  return { spec, where, pairs, store, resultsDir, input, activities, pairQueues, backend, writeManifest, finishManifest };
}

/**
 * The server refused to start the campaign: say why, with the fix. The input is the campaign's
 * plan (its trials are expanded as they run), so only a plan of very many listed combinations
 * comes near the server's limit (2 MB a payload by default).
 */
function startRefused(campaign: string, input: CampaignInput, err: Error): UserError {
  const bytes = Buffer.byteLength(JSON.stringify(input));
  const why = [err.message, (err.cause as Error | undefined)?.message].filter(Boolean).join(': ');
  const MB = 1e6;
  if (bytes > 2 * MB) {
    return new UserError(
      `the Temporal server refused to start campaign ${campaign} (${why}): its input is ${(bytes / MB).toFixed(1)} MB, more than a server takes in one request (2 MB a payload by default)`,
      'state the levels as factors (their combinations are expanded as the trials run) rather than listing the combinations, or split the campaign; nothing was started',
      ExitCode.Usage,
    );
  }
  return new UserError(`the Temporal server refused to start campaign ${campaign}: ${why}`, 'read the server\'s log (`miglab server status` shows where it is); nothing was started', ExitCode.Unavailable);
}

/**
 * The task queue a campaign's workflows and steps run on: each campaign writes to its own results
 * store and drives its own hosts, so a worker for one must never take another's steps. A campaign
 * already running keeps the queue it was started on (runs from before per-campaign queues used one).
 */
async function taskQueueOf(client: Client, campaign: string): Promise<string> {
  const d = await client.workflow.getHandle(campaignWorkflowId(campaign)).describe().catch(() => undefined);
  return d?.status.name === 'RUNNING' ? d.taskQueue : campaignTaskQueue(campaign);
}

/**
 * Starts the campaign's workflow on its queue, or finds it running (then attaches: a rerun of
 * `run`, `start` or a second controller's, never a second campaign).
 */
async function startOrAttach(session: TemporalSession, p: Pick<PreparedCampaign, 'spec' | 'input' | 'pairs' | 'resultsDir'>, taskQueue: string, log: (l: string) => void): Promise<{ handle: WorkflowHandle; started: boolean }> {
  const { spec, input, pairs, resultsDir } = p;
  const workflowId = campaignWorkflowId(spec.campaign);
  try {
    const searchAttributes = await hasSearchAttributes(session.connection, session.namespace);
    if (!searchAttributes) log('note: the Temporal server lacks miglab\'s search attributes (MiglabCampaign …): trials will not be filterable by them');
    const audited: CampaignInput = { ...input, audit: { hypervisor: hypervisorLabel(spec), searchAttributes } };
    const handle = await session.client.workflow.start(WorkflowType.campaign, {
      taskQueue,
      workflowId,
      args: [audited],
      staticSummary: `${spec.campaign}: ${trialCount(input.plan!)} trials (${spec.scenarios.map((x) => x.name).join(', ')}) on ${input.lanes.map((l) => `${l.src}→${l.dst}${l.hypervisor ? ` (${l.hypervisor})` : ''}`).join(', ')}, ${hypervisorLabel(spec)}`,
      ...(searchAttributes ? { typedSearchAttributes: [{ key: SA.campaign, value: spec.campaign }, { key: SA.hypervisor, value: hypervisorLabel(spec) }] } : {}),
    });
    log(`campaign ${spec.campaign}: ${trialCount(input.plan!)} trials on ${pairs.map((x) => x.join('→')).join(', ')}${input.lanes.some((l) => l.hypervisor) ? ` (${input.lanes.map((l) => l.hypervisor).join(', ')})` : ''}; results in ${resultsDir}`);
    return { handle, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err instanceof ServiceError ? startRefused(spec.campaign, input, err) : err;
    log(`campaign ${spec.campaign} is already running: attaching to it`);
    return { handle: session.client.workflow.getHandle(workflowId), started: false };
  }
}

/**
 * `miglab start <campaign.yaml>`: validate, check the hosts (or bring the bed up), write the
 * manifest and start the campaign's workflow — served by workers elsewhere (`miglab worker` on each
 * controller), followed with `miglab watch`. Nothing runs in this process.
 */
export async function startCampaign(o: { file: string; bedSubnet?: string; temporal?: TemporalTarget; log: (l: string) => void }): Promise<{ workflowId: string; taskQueue: string; pairQueues: string[]; started: boolean; resultsDir: string; auditUrl: string | undefined }> {
  const prepared = await prepareCampaign(o);
  const session = await connectTemporal(o.temporal, o.log);
  const pool = new SshPool();
  try {
    const taskQueue = await taskQueueOf(session.client, prepared.spec.campaign);
    const { handle, started } = await startOrAttach(session, prepared, taskQueue, o.log);
    await prepared.writeManifest(await prepared.backend(pool));
    return { workflowId: handle.workflowId, taskQueue, pairQueues: prepared.pairQueues(taskQueue), started, resultsDir: prepared.resultsDir, auditUrl: workflowUiUrl(session, handle.workflowId) };
  } finally {
    await pool.closeAll();
    await session.close();
  }
}

export async function runCampaign(o: RunOptions): Promise<{ workflowId: string; progress: CampaignProgress; rows: TrialRow[]; resultsDir: string; auditUrl: string | undefined }> {
  const { spec, where, pairs, store, resultsDir, input, activities, pairQueues, backend, writeManifest, finishManifest } = await prepareCampaign(o);
  return withBedWorker(
    { inventory: where.site, temporal: o.temporal, log: o.log, taskQueue: (client) => taskQueueOf(client, spec.campaign), pairQueues, backend, ...(o.controller ? { controller: o.controller } : {}) },
    activities,
    async ({ session, worker, taskQueue, backend: hv }) => {
      const { handle } = await startOrAttach(session, { spec, input, pairs, resultsDir }, taskQueue, o.log);
      const provenance = await writeManifest(hv);
      const started = Date.now();
      // The progress loop asks the server once a second. It must be over before the connection
      // closes (a call still retrying on a closed channel throws from a timer and ends the process):
      // when the worker stops first (a signal), it is told to stop and awaited.
      let stopAsking = false;
      let asking: Promise<void> = Promise.resolve();
      const result = handle.result() as Promise<CampaignProgress>;
      let finished = false;
      void result.finally(() => (finished = true)).catch(() => undefined);
      let progress: CampaignProgress;
      try {
        progress = await runUntilTolerant(worker, o.log, async () => {
          asking = (async () => {
            while (!finished && !stopAsking) {
              try {
                const p = await handle.query(progressQuery);
                o.progress(p, (Date.now() - started) / 1000, await currentSteps(session.client, p.runningNow));
              } catch {
                /* the first run answers once it has counted the store: the next second asks again */
              }
              await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
            }
          })();
          await asking;
          return result;
        });
      } finally {
        stopAsking = true;
        await asking;
      }
      await finishManifest(provenance);
      const rows = (await store.readTrials<TrialRow>()).map((t) => t.row);
      return { workflowId: handle.workflowId, progress, rows, resultsDir, auditUrl: workflowUiUrl(session, handle.workflowId) };
    },
  );
}

/**
 * The worker runs until `fn` is done. A worker that had to be stopped by force (a step stuck past
 * SHUTDOWN_FORCE_TIME, its attempt long since retried elsewhere) does not undo a campaign that
 * finished: say so, and return what `fn` returned.
 */
export async function runUntilTolerant<T>(worker: RunnableWorker, log: (l: string) => void, fn: () => Promise<T>): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  try {
    return await worker.runUntil(async () => {
      try {
        const value = await fn();
        outcome = { ok: true, value };
        return value;
      } catch (error) {
        outcome = { ok: false, error };
        throw error;
      }
    });
  } catch (err) {
    // Past the force time the SDK throws GracefulShutdownPeriodExpiredError, or an
    // IllegalStateError ("Worker still in use") when the stuck step still holds the worker, each
    // wrapped with fn's own error if it had one: what the user needs is fn's outcome.
    // Stopped before the campaign ended (Ctrl-C, SIGTERM: the SDK's runtime shuts the worker
    // down), a step still running: the campaign itself goes on in the server.
    if (!outcome) {
      // the worker was shut down (a signal) before fn ended: past its deadline with a step still
      // running, or at once with none (runUntil then reports fn's promise as unresolved)
      if (shutdownExpired(err) || err instanceof PromiseCompletionTimeoutError) {
        throw new UserError('miglab run was stopped while a step was still running; the campaign goes on in the Temporal server', 'run `miglab run` with the same file again to resume it, or `miglab cancel` to stop it', ExitCode.Interrupted);
      }
      throw err;
    }
    if (outcome.ok || outcome.error !== err) {
      log(`note: the campaign ${outcome.ok ? 'ended' : 'stopped'}, but a step was still running on this worker and was abandoned after ${SHUTDOWN_FORCE_TIME} (${shutdownExpired(err) ? 'graceful shutdown period expired' : (err as Error).message})`);
    }
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }
}

/** Whether the worker's shutdown ran out of time, alone or within the SDK's combined error. */
function shutdownExpired(err: unknown): boolean {
  const all = [err, ...((err as { errors?: unknown[] }).errors ?? []), (err as { cause?: unknown }).cause];
  return all.some((e) => e instanceof GracefulShutdownPeriodExpiredError);
}

/**
 * `miglab worker <campaign.yaml>`: a worker for one campaign in its own process, until SIGINT or
 * SIGTERM — for a campaign started elsewhere, or to tear VMs down after `miglab run` was stopped.
 */
export async function serveCampaign(o: { file: string; bedSubnet?: string; temporal?: TemporalTarget; log: (l: string) => void; until?: Promise<void>; pairs?: readonly string[]; controller?: string }): Promise<void> {
  // --pairs: only these pairs' trials (this controller reaches their hosts); every pair by default.
  // Checked against the file's pairs before anything starts (and against the default pair after).
  const loaded = await loadCampaign(o.file);
  const named = loaded.spec.pairs;
  const misnamed = (pairs: readonly (readonly [string, string, ...unknown[]])[]) => {
    const unknown = (o.pairs ?? []).filter((p) => !pairs.some(([s, d]) => `${s}:${d}` === p));
    if (unknown.length) throw new UserError(`--pairs names ${unknown.join(', ')}, not a pair of ${o.file}`, `use src:dst of its pairs: ${pairs.map(([s, d]) => `${s}:${d}`).join(', ')}`, ExitCode.Usage);
  };
  if (named) misnamed(named);
  const prepared = await prepareCampaign({ ...o, loaded });
  misnamed(prepared.pairs);
  const { spec, where, activities, resultsDir, backend, writeManifest } = prepared;
  const served = o.pairs ? prepared.pairs.filter(([s, d]) => o.pairs!.includes(`${s}:${d}`)) : prepared.pairs;
  const pairQueues = (main: string) => served.map(([src, dst]) => pairTaskQueue(main, src, dst));
  await withBedWorker({ inventory: where.site, temporal: o.temporal, log: o.log, taskQueue: (client) => taskQueueOf(client, spec.campaign), pairQueues, backend, ...(o.controller ? { controller: o.controller } : {}) }, activities, async ({ worker, taskQueue, backend: hv }) => {
    await writeManifest(hv);
    o.log(`worker ${workerIdentity(o.controller)} for campaign ${spec.campaign} on task queue ${taskQueue} and its pairs' (${pairQueues(taskQueue).join(', ')}); results in ${resultsDir}; Ctrl-C stops it`);
    if (o.until) await worker.runUntil(o.until);
    else await worker.run(); // the SDK's runtime shuts it down on SIGINT/SIGTERM
  });
}

/** What a running trial is doing now: its pending step and, while migrating, how far it got. */
export interface TrialStep {
  trialId: string;
  /** the pending activity, e.g. liveMigrate */
  step: string;
  /** share of guest memory still to send (0..1) and the pass, from the migration's last heartbeat */
  remaining: number | null;
  pass: number | null;
  /** the step's attempt (1 = first), its retry policy's limit (null: unlimited), and what the last attempt met */
  attempt: number;
  maxAttempts: number | null;
  lastFailure: string | null;
}

async function currentSteps(client: Client, trialIds: readonly string[]): Promise<TrialStep[]> {
  const out: TrialStep[] = [];
  const describe = (id: string) => client.workflow.getHandle(id).describe().catch(() => undefined);
  for (const trialId of trialIds) {
    // a campaign started by an older miglab may still name its trials the old way
    const d = (await describe(trialWorkflowId(trialId))) ?? (await describe(legacyTrialWorkflowId(trialId)));
    const a = d?.raw.pendingActivities?.[0];
    if (!a) continue;
    const details = a.heartbeatDetails?.payloads?.[0]?.data;
    let beat: { remainingBytes?: number; totalBytes?: number; iterations?: number } = {};
    try {
      if (details) beat = JSON.parse(Buffer.from(details).toString('utf8')) as typeof beat;
    } catch {
      /* not ours to read */
    }
    out.push({
      trialId,
      step: a.activityType?.name ?? '?',
      remaining: beat.totalBytes ? (beat.remainingBytes ?? 0) / beat.totalBytes : null,
      pass: beat.iterations ?? null,
      attempt: a.attempt ?? 1,
      maxAttempts: a.maximumAttempts ? a.maximumAttempts : null,
      lastFailure: a.lastFailure?.cause?.message ?? a.lastFailure?.message ?? null,
    });
  }
  return out;
}

/** One line a trial group: scenario and size, n, outcomes, mean TMT / DT / MD. */
export function summaryTable(rows: readonly TrialRow[]): string {
  const groups = new Map<string, TrialRow[]>();
  for (const r of rows) {
    const k = tryParseTrialId(r.trialId);
    // a factorial campaign's combinations apart: "ramp 8MiB bw32_xb64"
    const key = k ? `${k.scenario} ${k.workingSetMiB === null ? 'idle' : `${k.workingSetMiB}MiB`}${k.levels ? ` ${k.levels}` : ''}` : r.trialId;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  // a group with no trial that moved (every one failed) has no mean: '–', not NaN
  const mean = (xs: number[], digits: number) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(digits) : '–');
  // Scenarios in the order first seen, sizes ascending (file names sort 4MiB after 48MiB).
  const size = (k: string) => Number(/ (\d+)MiB( |$)/.exec(k)?.[1] ?? -1);
  const levels = (k: string) => k.split(' ')[2] ?? '';
  const scenarioOrder = [...new Set([...groups.keys()].map((k) => k.split(' ')[0]))];
  const ordered = [...groups.entries()].sort(([a], [b]) => scenarioOrder.indexOf(a.split(' ')[0]) - scenarioOrder.indexOf(b.split(' ')[0]) || size(a) - size(b) || levels(a).localeCompare(levels(b)));
  const width = Math.max(26, ...[...groups.keys()].map((k) => k.length));
  const lines = [`${'scenario / working set'.padEnd(width)} ${'n'.padStart(2)}  converged  offline  failed   TMT ms    DT ms    MD MiB`];
  for (const [key, rs] of ordered) {
    const m = rs.map((r) => r.metrics).filter((x): x is NonNullable<typeof x> => x !== null);
    const count = (k: string) => rs.filter((r) => r.outcome.kind === k).length;
    lines.push(
      `${key.padEnd(width)} ${String(rs.length).padStart(2)} ${String(count('converged')).padStart(10)} ${String(count('offline')).padStart(8)} ${String(count('failed')).padStart(7)} ` +
        `${mean(m.map((x) => x.tmtMs), 0).padStart(8)} ${mean(m.map((x) => x.dtMs), 1).padStart(8)} ${mean(m.map((x) => x.md.totalBytes / MiB), 1).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
