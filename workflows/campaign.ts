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
import { pauseSignal, progressQuery, resumeSignal, trialWorkflowId, WorkflowType } from './names.js';
import { PATCH } from './patches.js';
import type { ServiceLoad, TrialInput, TrialOutcome, TrialRow } from './trial-types.js';

export interface CampaignInput {
  campaign: string;
  /** one trial template per pair: everything but the trial's id and workload */
  lanes: { src: string; dst: string; template: Omit<TrialInput, 'trialId' | 'workload' | 'src' | 'dst'> }[];
  /** service: the trial loads a service instead of running the dirtier (its workingSetMiB is then null) */
  trials: { id: string; scenario: string; workingSetMiB: number | null; rate: 'max' | number; pattern: 'seq' | 'random'; service?: ServiceLoad }[];
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
  recordedTrials(input: { campaign: string }): Promise<{ id: string; outcome: TrialOutcome['kind'] }[]>;
}

const acts = proxyActivities<CampaignActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } });

export async function campaign(input: CampaignInput): Promise<CampaignProgress> {
  const recorded = await acts.recordedTrials({ campaign: input.campaign });
  const done = new Set(recorded.map((r) => r.id));
  const outcomes: Record<TrialOutcome['kind'], number> = { converged: 0, offline: 0, failed: 0 };
  for (const r of recorded) outcomes[r.outcome]++;
  const runningNow = new Set<string>();
  const unrecorded: string[] = [];
  let paused = false;
  const progress = (): CampaignProgress => ({ total: input.trials.length, recorded: done.size, runningNow: [...runningNow], outcomes, paused, unrecorded: [...unrecorded] });
  setHandler(progressQuery, progress);
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  const pending = input.trials.filter((t) => !done.has(t.id));
  const budget = input.trialsPerRun ?? 500;
  let started = 0;

  /**
   * Runs one trial as a child. A child of an earlier run of this campaign (terminated, or
   * restarted from scratch) may still be winding down under the same id, its teardown running:
   * wait until it has closed, then take its row if it recorded one, else run the trial afresh.
   */
  const runTrial = async (trialInput: TrialInput): Promise<TrialOutcome['kind']> => {
    for (let waited = 0; ; waited++) {
      try {
        const a = trialInput.audit;
        // Runs from before the patch named their trials `campaign/<name>/<name>/…`.
        const workflowId = patched(PATCH.trialWorkflowId) ? trialWorkflowId(trialInput.trialId) : `${workflowInfo().workflowId}/${trialInput.trialId}`;
        const row = await executeChild<(i: TrialInput) => Promise<TrialRow>>(WorkflowType.trial, {
          workflowId,
          args: [trialInput],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          staticSummary: `${trialInput.trialId}: ${trialInput.workload ? `${trialInput.workload.workingSetMiB} MiB dirtied` : trialInput.service ? `${trialInput.service.service} with a ${trialInput.service.keySetMiB} MiB key set` : 'idle guest'}, ${trialInput.spec.name} ${trialInput.src}→${trialInput.dst}${a ? ` (${a.hypervisor}, scenario ${a.scenario})` : ''}`,
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
        const now = await acts.recordedTrials({ campaign: input.campaign });
        const mine = now.find((r) => r.id === trialInput.trialId);
        if (mine) return mine.outcome;
      }
    }
  };

  // Each lane takes the next pending trial when it is free: pairs run in parallel, a host never
  // migrates two VMs at once.
  const lane = async (laneIndex: number) => {
    const l = input.lanes[laneIndex]!;
    for (;;) {
      await condition(() => !paused);
      if (started >= budget) return;
      const t = pending.shift();
      if (!t) return;
      started++;
      runningNow.add(t.id);
      const trialInput: TrialInput = {
        ...l.template,
        trialId: t.id,
        src: l.src,
        dst: l.dst,
        workload: t.workingSetMiB === null ? null : { workingSetMiB: t.workingSetMiB, rate: t.rate, pattern: t.pattern },
        ...(t.service ? { service: t.service } : {}),
        ...(input.audit ? { audit: { campaign: input.campaign, scenario: t.scenario, ...input.audit } } : {}),
      };
      try {
        outcomes[await runTrial(trialInput)]++;
        done.add(t.id);
      } catch {
        // The trial workflow records its own failures; one that could not even do that has no
        // row: it is not counted as recorded, and a rerun of the campaign runs it again.
        unrecorded.push(t.id);
      }
      runningNow.delete(t.id);
    }
  };
  await Promise.all(input.lanes.map((_, i) => lane(i)));

  if (pending.length > 0) await continueAsNew<typeof campaign>(input);
  return progress();
}
