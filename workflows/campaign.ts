/**
 * A campaign: its trials spread over host pairs (one lane per pair, one migration at a time on
 * each), trials already recorded skipped (so a rerun or a resume never repeats one), a failed trial
 * never stopping the rest, pause/resume signals, a progress query, and continue-as-new to keep
 * history bounded however many trials there are.
 */
import {
  condition, continueAsNew, executeChild, patched, proxyActivities, setHandler, sleep, workflowInfo, ParentClosePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { SA } from './search-attributes.js';
import { pauseSignal, progressQuery, resumeSignal, trialWorkflowId, tryParseTrialId, WorkflowType } from './names.js';
import { plannedTrials, trialCount, type CampaignPlan, type Levels, type PlannedTrial } from './campaign-plan.js';
import { PATCH } from './patches.js';
import type { MigrationTuning, ServiceLoad, TrialActivities, TrialInput, TrialOutcome, TrialRow } from './trial-types.js';
import { TEARDOWN } from './policies.js';
import type { Hypervisor } from '../campaign/spec.js';

/** One trial as a campaign of miglab 0.6 and before listed it in its input. */
export interface ListedTrial {
  id: string;
  scenario: string;
  workingSetMiB: number | null;
  rate: 'max' | number;
  pattern: 'seq' | 'random';
  service?: ServiceLoad;
}

export interface CampaignInput {
  campaign: string;
  /** one trial template per pair: everything but the trial's id, workload and levels */
  lanes: {
    src: string;
    dst: string;
    /** the pair's hypervisor when the campaign's pairs run several: it takes only the trials of that level (0.7 on) */
    hypervisor?: Hypervisor;
    /** the pair's own task queue: its trials run there, on workers that reach the pair (0.7 on; absent: the campaign's queue) */
    taskQueue?: string;
    template: Omit<TrialInput, 'trialId' | 'workload' | 'src' | 'dst'>;
  }[];
  /** what the trials are expanded from, as they run (miglab 0.7 on): the input stays small however many trials there are */
  plan?: CampaignPlan;
  /** every trial, listed (miglab 0.6 and before; still honoured) */
  trials?: ListedTrial[];
  /** where this run starts in the run order, what the runs before it counted, and where each lane's reused VM runs (set by continue-as-new; 0.7 on) */
  resume?: { next: number; outcomes: Record<TrialOutcome['kind'], number>; unrecorded: string[]; laneVms?: (string | null)[] };
  /** ping-pong: each lane's VM moves src→dst in one trial and back in the next instead of being booted for each (0.7 on, plan only) */
  reuse?: 'ping-pong';
  /** start a fresh run (continue-as-new) after this many trials in one run */
  trialsPerRun?: number;
  /** for the Temporal UI: the hypervisor, and whether the server has miglab's search attributes */
  audit?: { hypervisor: string; searchAttributes: boolean };
}

export interface CampaignProgress {
  total: number;
  recorded: number;
  runningNow: string[];
  /** outcomes of the recorded trials */
  outcomes: Record<TrialOutcome['kind'], number>;
  paused: boolean;
  /**
   * trials whose workflow ended without recording a row (it could not even record its failure):
   * not counted as recorded; a rerun of the campaign runs them again. Absent before miglab 0.2.
   */
  unrecorded?: string[];
}

export interface CampaignActivities {
  /** every recorded trial (miglab 0.6 and before: grows with the campaign) */
  recordedTrials(input: { campaign: string }): Promise<{ id: string; outcome: TrialOutcome['kind'] }[]>;
  /** which of these trials are recorded, with their outcomes (0.7 on: one window of trials at a time) */
  recordedAmong(input: { campaign: string; ids: string[] }): Promise<{ id: string; outcome: TrialOutcome['kind'] }[]>;
  /** how many trials the store holds, by outcome (0.7 on: once per campaign workflow, not per run) */
  recordedCounts(input: { campaign: string }): Promise<Record<TrialOutcome['kind'], number>>;
}

const acts = proxyActivities<CampaignActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } });

const MiB = 2 ** 20;

/** The trial's input: its lane's template with its workload, service and levels (and, reusing the lane's VM, where it is). */
function trialInputOf(input: CampaignInput, laneIndex: number, t: PlannedTrial | ListedTrial, vm?: { owner: string; on: string | null }): TrialInput {
  const l = input.lanes[laneIndex]!;
  // a reused VM runs where the lane's last trial left it: it moves back from there
  const [src, dst] = vm?.on === l.dst ? [l.dst, l.src] : [l.src, l.dst];
  const planned = 'workload' in t;
  const levels = planned ? t.levels : undefined;
  const workload = planned ? t.workload : t.workingSetMiB === null ? null : { workingSetMiB: t.workingSetMiB, rate: t.rate, pattern: t.pattern };
  return {
    ...l.template,
    trialId: t.id,
    src,
    dst,
    workload,
    ...(vm ? { vm: { owner: vm.owner, fresh: vm.on === null, keep: true } } : {}),
    ...(levels ? { migration: migrationWith(l.template.migration, levels) } : {}),
    ...(levels?.memoryMiB !== undefined || levels?.vcpus !== undefined ? { spec: { ...l.template.spec, ...(levels.memoryMiB !== undefined ? { memoryMiB: levels.memoryMiB } : {}), ...(levels.vcpus !== undefined ? { vcpus: levels.vcpus } : {}) } } : {}),
    ...(t.service ? { service: t.service } : {}),
    ...(input.audit ? { audit: { campaign: input.campaign, scenario: t.scenario, ...input.audit, ...(l.hypervisor ? { hypervisor: l.hypervisor } : {}) } } : {}),
  };
}

/** The campaign's migration settings with a trial's levels in place of the ones they vary. */
export function migrationWith(base: TrialInput['migration'], levels: Levels): TrialInput['migration'] {
  const tuning: MigrationTuning = { ...base.tuning };
  if (levels.xbzrle !== undefined) tuning.xbzrleCacheMiB = levels.xbzrle === 'off' ? null : levels.xbzrle;
  if (levels.multifd !== undefined) tuning.multifd = levels.multifd === 'off' ? null : levels.multifd;
  if (levels.autoConverge !== undefined) tuning.autoConverge = levels.autoConverge === 'off' ? null : levels.autoConverge;
  if (levels.pause !== undefined) tuning.pause = levels.pause === 'off' ? null : { afterPasses: levels.pause.afterPasses };
  if (levels.pauseBeforeSwitchover !== undefined) tuning.pauseBeforeSwitchover = levels.pauseBeforeSwitchover;
  if (levels.postcopy !== undefined) tuning.postcopy = levels.postcopy === 'off' ? null : { afterPasses: levels.postcopy.afterPasses, bandwidthMiBps: levels.postcopy.bandwidthMiBps ?? null };
  return {
    ...base,
    ...(levels.bandwidthMiBps !== undefined ? { maxBandwidth: Math.round(levels.bandwidthMiBps * MiB) } : {}),
    ...(levels.downtimeLimitMs !== undefined ? { downtimeLimitMs: levels.downtimeLimitMs } : {}),
    tuning,
  };
}

export async function campaign(input: CampaignInput): Promise<CampaignProgress> {
  return patched(PATCH.campaignPlan) ? planned(input) : listed(input);
}

/** A trial's summary line in the UI. */
function trialSummary(t: TrialInput): string {
  const a = t.audit;
  const what = t.workload ? `${t.workload.workingSetMiB} MiB dirtied` : t.service ? `${t.service.service} with a ${t.service.keySetMiB} MiB key set` : 'idle guest';
  const levels = tryParseTrialId(t.trialId)?.levels;
  return `${t.trialId}: ${what}${levels ? ` under ${levels}` : ''}, ${t.spec.name} ${t.src}→${t.dst}${a ? ` (${a.hypervisor}, scenario ${a.scenario})` : ''}`;
}

/**
 * Runs one trial as a child. A child of an earlier run of this campaign (terminated, or restarted
 * from scratch) may still be winding down under the same id, its teardown running: wait until it
 * has closed, then take its row if it recorded one, else run the trial afresh.
 */
async function runTrial(trialInput: TrialInput, recordedOf: (id: string) => Promise<TrialOutcome['kind'] | undefined>, taskQueue?: string): Promise<TrialOutcome['kind']> {
  for (let waited = 0; ; waited++) {
    try {
      const a = trialInput.audit;
      // Runs from before the patch named their trials `campaign/<name>/<name>/…`.
      const workflowId = patched(PATCH.trialWorkflowId) ? trialWorkflowId(trialInput.trialId) : `${workflowInfo().workflowId}/${trialInput.trialId}`;
      const row = await executeChild<(i: TrialInput) => Promise<TrialRow>>(WorkflowType.trial, {
        workflowId,
        args: [trialInput],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: trialSummary(trialInput),
        ...(onPairQueue(taskQueue) ? { taskQueue } : {}),
        ...(a?.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: SA.campaign, value: a.campaign },
                { key: SA.scenario, value: a.scenario },
                { key: SA.hypervisor, value: a.hypervisor },
                ...(trialInput.workload ? [{ key: SA.workingSetMB, value: trialInput.workload.workingSetMiB }] : trialInput.service ? [{ key: SA.workingSetMB, value: trialInput.service.keySetMiB }] : []),
              ],
            }
          : {}),
      });
      return row.outcome.kind;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || waited >= 60) throw err;
      await sleep('5 seconds');
      const mine = await recordedOf(trialInput.trialId);
      if (mine) return mine;
    }
  }
}

/** Whether a lane's own queue is used: only a lane that has one asks (older inputs replay as they ran). */
const onPairQueue = (taskQueue: string | undefined): taskQueue is string => taskQueue !== undefined && patched(PATCH.pairTaskQueue);

/** What a run of the campaign shares with its lanes: counts, the paused flag, the progress query. */
function runState(total: number, outcomes: Record<TrialOutcome['kind'], number>, unrecorded: string[]) {
  const state = { done: Object.values(outcomes).reduce((a, b) => a + b, 0), runningNow: new Set<string>(), paused: false };
  const progress = (): CampaignProgress => ({ total, recorded: state.done, runningNow: [...state.runningNow], outcomes: { ...outcomes }, paused: state.paused, unrecorded: [...unrecorded] });
  setHandler(progressQuery, progress);
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  return { state, progress };
}

/**
 * miglab 0.7 on: the trials come from the plan (or, for a run continued from an older miglab, its
 * list) one window at a time; only the window's ids are looked up in the store, and the next run
 * starts after it. Neither the input nor a run's history grows with the campaign.
 */
async function planned(input: CampaignInput): Promise<CampaignProgress> {
  const budget = input.trialsPerRun ?? 500;
  const from = input.resume?.next ?? 0;
  const total = input.plan ? trialCount(input.plan) : input.trials!.length;
  const window: (PlannedTrial | ListedTrial)[] = [];
  if (input.plan) {
    for (const t of plannedTrials(input.plan, from)) {
      if (window.length >= budget) break;
      window.push(t);
    }
  } else window.push(...input.trials!.slice(from, from + budget));
  // The progress query is answered as soon as the counts are known: at once in a continued run
  // (they come with its input), after counting the store in the first. Registered after the
  // window's lookup, it went unanswered at every run's start (6 polls of 1,689 in the
  // 100,000-trial bench). Handlers issue no commands: moving them changes no history.
  const outcomes = input.resume ? { ...input.resume.outcomes } : await acts.recordedCounts({ campaign: input.campaign });
  const unrecorded = [...(input.resume?.unrecorded ?? [])];
  const { state, progress } = runState(total, outcomes, unrecorded);
  const recorded = new Set((await acts.recordedAmong({ campaign: input.campaign, ids: window.map((t) => t.id) })).map((r) => r.id));
  const pending = window.filter((t) => !recorded.has(t.id));
  const recordedOf = async (id: string) => (await acts.recordedAmong({ campaign: input.campaign, ids: [id] }))[0]?.outcome;
  // Reused VMs: where each lane's runs (null: none, the next trial boots one), owned by the lane in this campaign run.
  const laneVms: (string | null)[] = input.resume?.laneVms ?? input.lanes.map(() => null);
  const laneOwner = (i: number) => `${input.campaign}/lane${i}/${workflowInfo().firstExecutionRunId.slice(0, 8)}`;

  // A lane takes the next trial it can run: any, or (pairs of several hypervisors) the next of its kind.
  const nextFor = (laneIndex: number): PlannedTrial | ListedTrial | undefined => {
    const kind = input.lanes[laneIndex]!.hypervisor;
    const i = kind ? pending.findIndex((t) => !('levels' in t) || !t.levels?.hypervisor || t.levels.hypervisor === kind) : 0;
    return i < 0 ? undefined : pending.splice(i, 1)[0];
  };

  const lane = async (laneIndex: number) => {
    for (;;) {
      await condition(() => !state.paused);
      const t = nextFor(laneIndex);
      if (!t) return;
      state.runningNow.add(t.id);
      const vm = input.reuse ? { owner: laneOwner(laneIndex), on: laneVms[laneIndex]! } : undefined;
      const trialInput = trialInputOf(input, laneIndex, t, vm);
      try {
        const kind = await runTrial(trialInput, recordedOf, input.lanes[laneIndex]!.taskQueue);
        outcomes[kind]++;
        state.done++;
        // a trial that moved its VM left it on its destination; one that failed stopped it
        laneVms[laneIndex] = kind === 'failed' ? null : trialInput.dst;
      } catch {
        // The trial workflow records its own failures; one that could not even do that has no
        // row: it is not counted as recorded, and a rerun of the campaign runs it again.
        unrecorded.push(t.id);
        laneVms[laneIndex] = null;
      }
      state.runningNow.delete(t.id);
    }
  };
  await Promise.all(input.lanes.map((_, i) => lane(i)));
  // trials of a hypervisor no lane runs (check refuses such a campaign): said, not silently passed over
  for (const t of pending.splice(0)) unrecorded.push(t.id);

  const next = from + window.length;
  if (next < total) await continueAsNew<typeof campaign>({ ...input, resume: { next, outcomes, unrecorded, ...(input.reuse ? { laneVms } : {}) } });
  // the campaign is over: the lanes' reused VMs go
  await Promise.all(
    laneVms.map((on, i) => {
      if (!on || !input.reuse) return undefined;
      const l = input.lanes[i]!;
      const acts = onPairQueue(l.taskQueue) ? proxyActivities<Pick<TrialActivities, 'teardown'>>({ ...FINAL_TEARDOWN, taskQueue: l.taskQueue }) : finalTeardown;
      return acts.teardown({ trialId: `${input.campaign}/lane${i}`, hosts: [l.src, l.dst], spec: { ...l.template.spec, owner: laneOwner(i) } });
    }),
  );
  return progress();
}

const FINAL_TEARDOWN = { ...TEARDOWN, summary: "stop the lane's reused VM: the campaign is over" };
const finalTeardown = proxyActivities<Pick<TrialActivities, 'teardown'>>(FINAL_TEARDOWN);

/** miglab 0.6 and before: every trial listed in the input, every recorded one read at each run's start. */
async function listed(input: CampaignInput): Promise<CampaignProgress> {
  const trials = input.trials!;
  const recorded = await acts.recordedTrials({ campaign: input.campaign });
  const done = new Set(recorded.map((r) => r.id));
  const outcomes: Record<TrialOutcome['kind'], number> = { converged: 0, offline: 0, failed: 0 };
  for (const r of recorded) outcomes[r.outcome]++;
  const unrecorded: string[] = [];
  const { state, progress } = runState(trials.length, outcomes, unrecorded);

  const pending = trials.filter((t) => !done.has(t.id));
  const budget = input.trialsPerRun ?? 500;
  let started = 0;
  const recordedOf = async (id: string) => (await acts.recordedTrials({ campaign: input.campaign })).find((r) => r.id === id)?.outcome;

  // Each lane takes the next pending trial when it is free: pairs run in parallel, a host never
  // migrates two VMs at once.
  const lane = async (laneIndex: number) => {
    for (;;) {
      await condition(() => !state.paused);
      if (started >= budget) return;
      const t = pending.shift();
      if (!t) return;
      started++;
      state.runningNow.add(t.id);
      try {
        outcomes[await runTrial(trialInputOf(input, laneIndex, t), recordedOf)]++;
        state.done++;
      } catch {
        unrecorded.push(t.id);
      }
      state.runningNow.delete(t.id);
    }
  };
  await Promise.all(input.lanes.map((_, i) => lane(i)));

  if (pending.length > 0) await continueAsNew<typeof campaign>(input);
  return progress();
}
