/**
 * `miglab status | pause | resume | cancel <campaign>`: talk to a campaign workflow that runs (or
 * ran) on the Temporal server. The campaign is named by its name or by its campaign file.
 */
import { SA } from '../workflows/search-attributes.js';
import { QueryNotRegisteredError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { loadCampaign } from '../campaign/load.js';
import { UserError } from '../lib/errors.js';
import type { CampaignInput, CampaignProgress } from '../workflows/campaign.js';
import { CAMPAIGN_NAME, campaignOfWorkflowId, campaignWorkflowId as workflowIdOf, pauseSignal, progressQuery, resumeSignal, WorkflowType } from '../workflows/names.js';

/** The workflow id of a campaign given by name or by its file. */
export async function campaignWorkflowId(nameOrFile: string): Promise<{ campaign: string; workflowId: string }> {
  const campaign = /\.ya?ml$/.test(nameOrFile) ? (await loadCampaign(nameOrFile)).spec.campaign : nameOrFile;
  if (!CAMPAIGN_NAME.test(campaign)) throw new UserError(`"${nameOrFile}" is neither a campaign name nor a campaign file (.yaml)`, 'pass the campaign\'s name (its `campaign:` field) or its file, e.g. campaigns/paper.yaml');
  return { campaign, workflowId: workflowIdOf(campaign) };
}

export interface CampaignStatus {
  campaign: string;
  workflowId: string;
  /** the workflow's state on the server: RUNNING, COMPLETED, CANCELLED, TERMINATED, FAILED … */
  state: string;
  startedAt: string;
  closedAt: string | null;
  /** live numbers from the progress query while it runs, the result once it completed */
  progress: CampaignProgress | null;
  /**
   * While it runs: how many workers poll its task queue (0: nothing will move it on, and its
   * progress cannot be asked — `miglab run` or `miglab worker` continues it); null once closed.
   */
  workers: number | null;
  /**
   * While it runs: each pair with a queue of its own and how many workers serve it — a pair no
   * controller serves holds its trials back while the others go on.
   */
  pairs: { pair: string; taskQueue: string; workers: number }[] | null;
}

/** The campaign file as a hint's command names it: the one the user gave, else a placeholder. */
const fileArg = (campaignArg: string) => (/\.ya?ml$/.test(campaignArg) ? campaignArg : '<campaign.yaml>');

/** What status and watch say of pairs no worker serves: their trials wait, and what serves them. */
export function unservedPairsHint(campaignArg: string, s: Pick<CampaignStatus, 'pairs' | 'workers'>): string | undefined {
  const idle = (s.pairs ?? []).filter((p) => p.workers === 0);
  if (!idle.length || s.workers === 0) return undefined;
  const file = fileArg(campaignArg);
  return `no worker serves ${idle.map((p) => p.pair).join(', ')}: ${idle.length > 1 ? 'their' : 'its'} trials wait — \`miglab worker ${file} --pairs ${idle.map((p) => p.pair.replace('→', ':')).join(',')}\` on a controller that reaches ${idle.length > 1 ? 'them' : 'it'}`;
}

/** What status and watch say of a running campaign nothing serves: why it does not move, and what continues it. */
export function noWorkerHint(campaignArg: string): string {
  const file = fileArg(campaignArg);
  return `no worker is serving it, so it does not move on: \`miglab run ${file}\` or \`miglab worker ${file}\` continues it`;
}

/** What status and watch add when the campaign, or some of its pairs, wait for a worker; none when all are served. */
export function waitingHint(campaignArg: string, s: Pick<CampaignStatus, 'pairs' | 'workers'>): string | undefined {
  return s.workers === 0 ? noWorkerHint(campaignArg) : unservedPairsHint(campaignArg, s);
}

/** a worker long-polls for a minute at a time: one not seen for longer has gone */
const POLLER_SEEN_WITHIN_MS = 90_000;
/** a worker that polls answers a query at once; past this, progress is reported unknown */
const QUERY_DEADLINE_MS = 10_000;

/** Workers that polled the task queue for workflow tasks lately (the server remembers older ones). */
async function activeWorkers(client: Client, taskQueue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    // TASK_QUEUE_KIND_NORMAL and TASK_QUEUE_TYPE_WORKFLOW (the enums live in @temporalio/proto,
    // which miglab does not depend on directly)
    taskQueue: { name: taskQueue, kind: 1 },
    taskQueueType: 1,
  });
  const now = Date.now();
  return (r.pollers ?? []).filter((p) => {
    const t = p.lastAccessTime;
    return t?.seconds != null && now - Number(t.seconds) * 1000 <= POLLER_SEEN_WITHIN_MS;
  }).length;
}

/**
 * The lanes' own task queues of a campaign's current run, from the run's input (its first event:
 * the input is the campaign's plan, never its trials). Lanes started before pair queues have none.
 */
async function laneQueues(client: Client, workflowId: string, runId: string): Promise<{ pair: string; taskQueue: string }[]> {
  const r = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
  const payload = r.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return [];
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload<CampaignInput>(payload);
  return (input.lanes ?? []).flatMap((l) => (l.taskQueue ? [{ pair: `${l.src}→${l.dst}`, taskQueue: l.taskQueue }] : []));
}

/** The campaign's workflow handle and description; a campaign the server does not know is a user error. */
async function lookup(client: Client, nameOrFile: string): Promise<{ campaign: string; workflowId: string; handle: WorkflowHandle; d: WorkflowExecutionDescription }> {
  const { campaign, workflowId } = await campaignWorkflowId(nameOrFile);
  const handle = client.workflow.getHandle(workflowId);
  try {
    return { campaign, workflowId, handle, d: await handle.describe() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UserError(`no campaign "${campaign}" on this Temporal server (workflow ${workflowId})`, 'start it with `miglab run <campaign.yaml>`; `miglab ls` lists the campaigns the server knows');
    throw err;
  }
}

/**
 * The progress query, asked again while the run has no handler for it: a campaign's first run
 * answers once it has counted the store's rows (one activity), so a poll at its very start is told
 * the query is not registered.
 */
async function askProgress(client: Client, handle: WorkflowHandle): Promise<CampaignProgress> {
  const deadline = Date.now() + QUERY_DEADLINE_MS;
  return client.withDeadline(deadline, async () => {
    for (;;) {
      try {
        return await handle.query(progressQuery);
      } catch (err) {
        if (!(err instanceof QueryNotRegisteredError) || Date.now() + 200 >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
}

export async function campaignStatus(client: Client, nameOrFile: string): Promise<CampaignStatus> {
  const { campaign, workflowId, handle, d } = await lookup(client, nameOrFile);
  let progress: CampaignProgress | null = null;
  let workers: number | null = null;
  let pairs: CampaignStatus['pairs'] = null;
  if (d.status.name === 'RUNNING') {
    pairs = await Promise.all((await laneQueues(client, workflowId, d.runId)).map(async (l) => ({ ...l, workers: await activeWorkers(client, l.taskQueue) })));
    // A query needs a worker to answer it: with none, it would only wait out its timeout.
    workers = await activeWorkers(client, d.taskQueue);
    if (workers > 0) progress = await askProgress(client, handle).catch(() => null);
  } else if (d.status.name === 'COMPLETED') progress = (await handle.result().catch(() => null)) as CampaignProgress | null;
  return { campaign, workflowId, state: d.status.name, startedAt: d.startTime.toISOString(), closedAt: d.closeTime?.toISOString() ?? null, progress, workers, pairs };
}

async function running(client: Client, nameOrFile: string, verb: string) {
  const { campaign, handle, d } = await lookup(client, nameOrFile);
  if (d.status.name !== 'RUNNING') throw new UserError(`campaign ${campaign} is ${d.status.name.toLowerCase()}, there is nothing to ${verb}`, '`miglab status` shows its state; `miglab run <campaign.yaml>` starts a new run that skips recorded trials');
  return { campaign, handle };
}

/** Pause: lanes finish the trial they are in and start no new one until resumed. */
export async function pauseCampaign(client: Client, nameOrFile: string): Promise<string> {
  const { campaign, handle } = await running(client, nameOrFile, 'pause');
  await handle.signal(pauseSignal);
  return campaign;
}

export async function resumeCampaign(client: Client, nameOrFile: string): Promise<string> {
  const { campaign, handle } = await running(client, nameOrFile, 'resume');
  await handle.signal(resumeSignal);
  return campaign;
}

/**
 * Cancel: every running trial is cancelled and tears its VM down (teardown is not cancellable);
 * recorded trials stay. Waits up to `waitMs` for the campaign to close: a worker (the one in
 * `miglab run`) has to be there to do the teardown.
 */
export async function cancelCampaign(client: Client, nameOrFile: string, waitMs: number): Promise<{ campaign: string; closed: boolean; state: string }> {
  const { campaign, handle } = await running(client, nameOrFile, 'cancel');
  await handle.cancel();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING' || Date.now() >= deadline) return { campaign, closed: d.status.name !== 'RUNNING', state: d.status.name };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The campaigns the server knows, newest first. */
export async function listCampaigns(client: Client): Promise<{ campaign: string; workflowId: string; state: string; startedAt: string }[]> {
  const out: { campaign: string; workflowId: string; state: string; startedAt: string }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${WorkflowType.campaign}'` })) {
    out.push({ campaign: campaignOfWorkflowId(w.workflowId) ?? w.workflowId, workflowId: w.workflowId, state: w.status.name, startedAt: w.startTime.toISOString() });
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

export interface TrialFilter {
  campaign?: string;
  scenario?: string;
  hypervisor?: string;
  outcome?: string;
  workingSetMiB?: number;
}

/** The visibility query for trials matching a filter, over miglab's search attributes. */
export function trialQuery(f: TrialFilter): string {
  const q = (v: string) => `'${v.replace(/['\\]/g, '')}'`;
  return [
    `WorkflowType = '${WorkflowType.trial}'`,
    ...(f.campaign ? [`${SA.campaign.name} = ${q(f.campaign)}`] : []),
    ...(f.scenario ? [`${SA.scenario.name} = ${q(f.scenario)}`] : []),
    ...(f.hypervisor ? [`${SA.hypervisor.name} = ${q(f.hypervisor)}`] : []),
    ...(f.outcome ? [`${SA.outcome.name} = ${q(f.outcome)}`] : []),
    ...(f.workingSetMiB !== undefined ? [`${SA.workingSetMB.name} = ${Math.trunc(f.workingSetMiB)}`] : []),
  ].join(' AND ');
}

/** One step of a trial as its history tells it: which attempt ended it and on which controller (worker identity). */
export interface StepRun {
  step: string;
  /** the attempt that ran to the end (or runs now): 2 or more means earlier attempts failed or their worker died */
  attempt: number;
  /** the worker identity (controller:pid) that ran that attempt; null when none has started it yet */
  controller: string | null;
  state: 'done' | 'running';
}

/**
 * Each step of a trial and the controller that ran it. Temporal writes a step's started event when
 * the step ends, for its last attempt only: an attempt whose worker died (its heartbeat timed out)
 * shows as the next attempt's number. A step still running is the pending activity's last worker.
 */
export async function trialStepRuns(client: Client, workflowId: string): Promise<StepRun[]> {
  const handle = client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const runs: StepRun[] = [];
  for (const e of history.events ?? []) {
    const sch = e.activityTaskScheduledEventAttributes;
    if (sch) scheduled.set(String(e.eventId), sch.activityType?.name ?? '?');
    const st = e.activityTaskStartedEventAttributes;
    if (st) runs.push({ step: scheduled.get(String(st.scheduledEventId)) ?? '?', attempt: st.attempt ?? 1, controller: st.identity || null, state: 'done' });
  }
  const d = await handle.describe().catch(() => undefined);
  for (const a of d?.raw.pendingActivities ?? []) runs.push({ step: a.activityType?.name ?? '?', attempt: a.attempt ?? 1, controller: a.lastWorkerIdentity || null, state: 'running' });
  return runs;
}

export interface ListedTrial {
  workflowId: string;
  state: string;
  outcome: string | null;
  workingSetMiB: number | null;
  /** with `steps`: each step and the controller that ran it (one history read per trial) */
  steps?: StepRun[];
}

/** Trials the server knows that match the filter, by miglab's search attributes. */
export async function listTrials(client: Client, f: TrialFilter, o: { steps?: boolean } = {}): Promise<ListedTrial[]> {
  const out: ListedTrial[] = [];
  for await (const w of client.workflow.list({ query: trialQuery(f) })) {
    out.push({ workflowId: w.workflowId, state: w.status.name, outcome: w.typedSearchAttributes.get(SA.outcome) ?? null, workingSetMiB: w.typedSearchAttributes.get(SA.workingSetMB) ?? null });
  }
  out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  if (o.steps) for (const t of out) t.steps = await trialStepRuns(client, t.workflowId);
  return out;
}

/**
 * Follows a campaign until it closes (its worker runs elsewhere, e.g. in `miglab run`), calling
 * `onChange` whenever its state or progress changes; returns the last status.
 */
export async function watchCampaign(client: Client, nameOrFile: string, onChange: (s: CampaignStatus) => void, intervalMs = 1000, signal?: AbortSignal): Promise<CampaignStatus> {
  let last = '';
  for (;;) {
    const s = await campaignStatus(client, nameOrFile);
    const key = JSON.stringify([s.state, s.progress, s.workers, s.pairs]);
    if (key !== last) onChange(s);
    last = key;
    if (s.state !== 'RUNNING' || signal?.aborted) return s;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
