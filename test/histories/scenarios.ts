/**
 * The workflow scenarios whose histories are committed for replay (test/replay.test.ts): each
 * outcome of a trial, and the campaign's branches. They run the workflows at `workflowsPath` (this
 * checkout's, or an older miglab's for its histories) with stubbed activities on a dev server.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestTemporal } from '../helpers/temporal.js';
import { diskSpec, done, input, rampPlan, rampTrials, serviceLoad, stall, stubs } from '../helpers/trial-stubs.js';
import type { Factors } from '../../workflows/campaign-plan.js';
import type { TrialInput } from '../../workflows/trial-types.js';
import type { Hypervisor } from '../../campaign/spec.js';

/** A recorded workflow: what to save under which name. */
export interface Recorded {
  name: string;
  workflowId: string;
  runId: string | undefined;
}

type Scenario = (t: TestTemporal, workflowsPath: string) => Promise<Recorded[]>;

const until = async (cond: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** A trial on its own, to its end (or its cancellation). */
function trialScenario(script: Parameters<typeof stubs>[0], over: Partial<TrialInput> = {}, cancelDuringMigration = false): Scenario {
  return async (t, workflowsPath) => {
    const s = stubs(script);
    const { worker, taskQueue } = await t.worker(s.acts, { workflowsPath });
    const handle = await worker.runUntil(async () => {
      const h = await t.client.workflow.start('trial', { taskQueue, workflowId: t.unique('trial'), args: [input(over)] });
      if (cancelDuringMigration) {
        await until(() => s.calls.some((c) => c.startsWith('liveMigrate')), 'the migration step');
        await h.cancel();
      }
      await h.result().catch(() => undefined);
      return h;
    });
    return [{ name: 'trial', workflowId: handle.workflowId, runId: undefined }];
  };
}


/** A campaign's run(s) and its trial children, recorded as they ran. */
function campaignScenario(o: { trials: number; lanes: number; children?: boolean; trialsPerRun?: number; live?: number; listed?: boolean; factors?: Factors; reuse?: boolean; kinds?: Hypervisor[]; pairQueue?: boolean; during?: (c: Client, h: WorkflowHandle, calls: string[], taskQueue: string) => Promise<void> }): Scenario {
  return async (t, workflowsPath) => {
    const s = stubs({ live: Array.from({ length: o.trials }, () => done), liveDelayMs: o.live ?? 0 });
    const acts = s.campaignActs;
    const { worker, taskQueue } = await t.worker(acts, { workflowsPath });
    // the lanes' own queue, served by a second worker (as `miglab run` serves each pair's)
    const pairQueue = `${taskQueue}@pair`;
    const pairWorker = o.pairQueue ? (await t.worker(acts, { workflowsPath, taskQueue: pairQueue })).worker : undefined;
    const name = t.unique('camp');
    const { trialId: _t, src, dst, workload: _w, ...template } = input();
    const lanes = Array.from({ length: o.lanes }, (_, i) => ({
      ...(o.kinds ? { src: `${src}${i}`, dst: `${dst}${i}`, hypervisor: o.kinds[i]! } : { src, dst }),
      ...(o.pairQueue ? { taskQueue: pairQueue } : {}),
      template,
    }));
    // as miglab sends it: the plan (0.7 on), or the list of trials (0.6 and before, still honoured)
    const trials = { ...(o.listed ? { trials: rampTrials(name, o.trials) } : { plan: rampPlan(name, o.factors ? 1 : o.trials, o.factors) }), ...(o.reuse ? { reuse: 'ping-pong' as const } : {}) };
    const args = [{ campaign: name, lanes, ...trials, ...(o.trialsPerRun ? { trialsPerRun: o.trialsPerRun } : {}) }];
    const workflowId = `campaign/${name}`;
    const served = async <T>(fn: () => Promise<T>): Promise<T> => {
      if (!pairWorker) return worker.runUntil(fn);
      const p = fn();
      const [r] = await Promise.all([worker.runUntil(p), pairWorker.runUntil(p.then(() => undefined, () => undefined))]);
      return r;
    };
    const runs = await served(async () => {
      const h = await t.client.workflow.start('campaign', { taskQueue, workflowId, args });
      if (o.during) await o.during(t.client, h, s.calls, taskQueue);
      await h.result().catch(() => undefined);
      // every run of the campaign (continue-as-new makes more than one)
      const out: Recorded[] = [];
      for await (const w of t.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) out.push({ name: 'campaign-run', workflowId, runId: w.runId });
      return out;
    });
    const children: Recorded[] = [];
    // the children are trials like the ones above; kept where the campaign ended them itself
    if (o.children) for await (const w of t.client.workflow.list({ query: `WorkflowType = 'trial' AND TaskQueue = '${o.pairQueue ? pairQueue : taskQueue}'` })) children.push({ name: 'trial', workflowId: w.workflowId, runId: w.runId });
    return [...runs, ...children];
  };
}

export const scenarios: Record<string, Scenario> = {
  'trial-converged': trialScenario({ live: [done] }),
  'trial-disk': trialScenario({ live: [done] }, { spec: diskSpec() }),
  'trial-service': trialScenario({ live: [{ ...done, cost: { startedAt: 1_000, endedAt: 9_000, migrationStartedAt: 1_700, completedAt: 8_900, transferredBytes: 1, passes: 1, remainingLowBytes: 0 } }] }, { spec: diskSpec(), workload: null, service: serviceLoad() }),
  'trial-ladder': trialScenario({ live: [stall, stall, done] }),
  'trial-offline': trialScenario({ live: [stall, stall, stall], offline: done }),
  'trial-failed': trialScenario({ live: [stall, stall, stall] }, { fallback: 'none' }),
  'trial-failed-setup': trialScenario({ live: [], prepareError: ApplicationFailure.nonRetryable('VM vm1 is paused on hosta', 'VmState') }, { workload: null }),
  'trial-cancelled': trialScenario({ live: [done], liveDelayMs: 8000 }, {}, true),
  'campaign-one-lane': campaignScenario({ trials: 2, lanes: 1 }),
  'campaign-two-lanes': campaignScenario({ trials: 4, lanes: 2 }),
  'campaign-continue-as-new': campaignScenario({ trials: 3, lanes: 1, trialsPerRun: 2 }),
  // a run an older miglab started with its trials listed, continued by this one
  'campaign-listed': campaignScenario({ trials: 3, lanes: 1, trialsPerRun: 2, listed: true }),
  // factor levels: xbzrle off and on, in the plan's seeded order
  'campaign-factors': campaignScenario({ trials: 2, lanes: 1, factors: { xbzrle: ['off', 64] } }),
  // pairs of two hypervisors side by side, each lane taking its kind's trials
  'campaign-hypervisors': campaignScenario({ trials: 2, lanes: 2, factors: { hypervisor: ['qemu', 'libvirt'] }, kinds: ['qemu', 'libvirt'] }),
  // trials (and a reused VM's final teardown) on the lane's own queue, its pair's
  'campaign-pair-queue': campaignScenario({ trials: 2, lanes: 1, reuse: true, pairQueue: true, children: true }),
  // the lane's VM moves there and back, kept between trials, stopped at the end
  'campaign-reuse': campaignScenario({ trials: 3, lanes: 1, reuse: true, children: true }),
  'campaign-paused': campaignScenario({
    trials: 2, lanes: 1, live: 1000,
    during: async (_c, h, calls) => {
      await until(() => calls.includes('prepareVm'), 'the first trial');
      await h.signal('pause');
      await until(() => calls.includes('recordTrial'), 'the first row');
      await h.signal('resume');
    },
  }),
  'campaign-cancelled': campaignScenario({
    trials: 2, lanes: 1, live: 8000, children: true,
    during: async (_c, h, calls) => {
      await until(() => calls.some((c) => c.startsWith('liveMigrate')), 'the first migration');
      await h.cancel();
    },
  }),
  // a trial child that ends without its row (terminated mid-migration)
  'campaign-child-lost': campaignScenario({
    trials: 2, lanes: 1, live: 3000,
    during: async (c, _h, calls, taskQueue) => {
      await until(() => calls.some((x) => x.startsWith('liveMigrate')), 'the first migration');
      let terminated = 0;
      await until(async () => {
        for await (const w of c.workflow.list({ query: `WorkflowType = 'trial' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
          await c.workflow.getHandle(w.workflowId).terminate('test: the trial is lost');
          terminated++;
        }
        return terminated > 0;
      }, 'the running trial in visibility');
    },
  }),
};
