/**
 * Every name miglab gives a thing on the Temporal server, defined once: workflow types, workflow
 * ids, trial ids, task queues, and the campaign's query and signals. The CLI, the analysis, the
 * benches and the tests import them from here; no string literal elsewhere names one.
 *
 * Sandbox code (see workflows/README.md): @temporalio/workflow and type imports only.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CampaignProgress } from './campaign.js';

/** The workflow types, as the worker registers them (the exported function names). */
export const WorkflowType = {
  campaign: 'campaign',
  trial: 'trial',
  smoke: 'smokeMigration',
} as const;

export const progressQuery = defineQuery<CampaignProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

/** The smoke workflow's queue. */
export const SMOKE_TASK_QUEUE = 'miglab';
/** Each campaign's own queue: its steps write to its results store and drive its hosts. */
export const campaignTaskQueue = (campaign: string): string => `miglab-${campaign}`;
/**
 * A pair's queue within a campaign's: its trials (workflow and steps) run there, so only a worker
 * that reaches the pair's hosts takes them (several such workers: one takes over from another).
 */
export const pairTaskQueue = (campaignQueue: string, src: string, dst: string): string => `${campaignQueue}@${src}-${dst}`;

/** A campaign name: also a path segment of its trial ids and a results folder name. */
export const CAMPAIGN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const campaignWorkflowId = (campaign: string): string => `campaign/${campaign}`;
/** The campaign a campaign workflow id names, or undefined when it names none. */
export function campaignOfWorkflowId(workflowId: string): string | undefined {
  const m = /^campaign\/([^/]+)$/.exec(workflowId);
  return m?.[1];
}

/** A trial's child workflow id: `trial/paper/dirty-ramp/32MiB/r2`. */
export const trialWorkflowId = (trialId: string): string => `trial/${trialId}`;
/**
 * The id campaigns started before miglab 0.2 gave their trials (`campaign/paper/paper/…`, the
 * campaign name twice). Still used by such a campaign's run until it is replayed past the
 * `trial-workflow-id` patch; readers try both.
 */
export const legacyTrialWorkflowId = (trialId: string): string => `${campaignWorkflowId(parseTrialId(trialId).campaign)}/${trialId}`;

/** What a trial id says: campaign/scenario/size[/levels]/repetition, size `idle` or `<n>MiB`. */
export interface TrialKey {
  campaign: string;
  scenario: string;
  /** null for an idle guest (no workload) */
  workingSetMiB: number | null;
  /** the factor levels' label (e.g. `bw32_xb64`), in a campaign that varies settings */
  levels?: string;
  repetition: number;
}

/** `paper/dirty-ramp/32MiB/r2`, `sweep/ramp/32MiB/bw32_xb64/r2`: stable across reruns and resumes, readable in the UI. */
export function trialId(k: TrialKey): string {
  return `${k.campaign}/${k.scenario}/${k.workingSetMiB === null ? 'idle' : `${k.workingSetMiB}MiB`}/${k.levels !== undefined ? `${k.levels}/` : ''}r${k.repetition}`;
}

/** The parts of a trial id; throws on anything `trialId` would not have built. */
export function parseTrialId(id: string): TrialKey {
  const m = /^([^/]+)\/([^/]+)\/(idle|(\d+(?:\.\d+)?)MiB)\/(?:([A-Za-z0-9_.-]+)\/)?r(\d+)$/.exec(id);
  if (!m) throw new Error(`not a miglab trial id: "${id}" (expected campaign/scenario/<n>MiB|idle/[levels/]r<k>)`);
  return { campaign: m[1]!, scenario: m[2]!, workingSetMiB: m[4] === undefined ? null : Number(m[4]), ...(m[5] !== undefined ? { levels: m[5] } : {}), repetition: Number(m[6]) };
}

/** The parts of a trial id, or undefined for an id that is not one (a row from elsewhere). */
export function tryParseTrialId(id: string): TrialKey | undefined {
  try {
    return parseTrialId(id);
  } catch {
    return undefined;
  }
}
