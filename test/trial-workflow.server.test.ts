/**
 * The trial workflow's logic on the real dev server, with stubbed activities (this test is about
 * the workflow: escalation, fallback, outcomes, teardown, recording; the bed tests drive the real
 * activities' building blocks).
 */
import { plannedTrials, type Factors } from '../workflows/campaign-plan.js';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAttempts } from '../workflows/ladder.js';
import { campaignWorkflowId, pairTaskQueue, parseTrialId, progressQuery, WorkflowType } from '../workflows/names.js';
import { startTestTemporal, type TestTemporal } from './helpers/temporal.js';
import type { AttemptResult, TrialInput, TrialRow } from '../workflows/trial-types.js';
import { diskSpec, done, serviceLoad, stubApp, doneOther, final, input, rampPlan, rampTrials, stall, stubClockOffsetsMs, stubDirtyRate, stubIdleDirtyRate, stubProbe, stubs, stubWitness, stubWriteRate } from './helpers/trial-stubs.js';
import { campaignStatus, cancelCampaign, listCampaigns, listTrials, pauseCampaign, resumeCampaign, trialQuery, unservedPairsHint, watchCampaign, type CampaignStatus } from '../cli/control.js';
import { UserError } from '../lib/errors.js';
import { SA } from '../workflows/search-attributes.js';
import type { Hypervisor } from '../campaign/spec.js';

/** The calls come in these groups, in this order; within a group (steps run side by side), in any order. */
function expectSteps(calls: readonly string[], groups: readonly (readonly string[])[]): void {
  let at = 0;
  const seen = groups.map((g) => {
    const got = calls.slice(at, at + g.length);
    at += g.length;
    return [...got].sort();
  });
  expect(seen).toEqual(groups.map((g) => [...g].sort()));
  expect(calls).toHaveLength(at);
  // a teardown's end comes after its start
  if (calls.includes('teardown-done')) expect(calls.indexOf('teardown-done')).toBeGreaterThan(calls.indexOf('teardown:hosta,hostb'));
}
describe('trial workflow (stubbed activities, real dev server)', () => {
  let t: TestTemporal;
  let client: Client;
  let n = 0;

  beforeAll(async () => {
    t = await startTestTemporal('trialwf');
    client = t.client;
  }, 120_000);

  afterAll(async () => t?.close());

  async function runTrial(s: ReturnType<typeof stubs>, inp: TrialInput) {
    const { worker, taskQueue } = await t.worker(s.acts);
    return worker.runUntil(client.workflow.execute(WorkflowType.trial, { taskQueue, workflowId: `${inp.trialId}#${++n}`, args: [inp] }) as Promise<TrialRow>);
  }

  it('a VM with a disk: a witness file is written before the workload and read back after the move; a damaged disk is recorded as such', async () => {
    const s = stubs({ live: [done] });
    const row = await runTrial(s, input({ spec: diskSpec() }));
    expect(row.disk).toEqual({ sha256Before: stubWitness, sha256After: stubWitness, intact: true });
    expectSteps(s.calls, [['prepareVm'], ['waitForGuest'], ['measureDirtyRate'], ['writeDiskWitness'], ['startWorkload'], ['measureDirtyRate'], ['memoryCategories', 'startProbe'], ['guestClock'], ['liveMigrate#0:300'], ['stopProbe', 'guestClock', 'workloadIntegrity', 'checkDiskWitness'], ['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
    const damaged = await runTrial(stubs({ live: [done], diskDamaged: true }), input({ spec: diskSpec() }));
    expect(damaged.disk).toMatchObject({ sha256Before: stubWitness, intact: false });
    // no disk: no witness, and the row has no disk field
    const plain = stubs({ live: [done] });
    expect(await runTrial(plain, input())).not.toHaveProperty('disk');
    expect(plain.calls.filter((c) => c.includes('Witness'))).toEqual([]);
  });

  it('a service trial: the service is started and loaded, its load runs across the move and is cut by the move\'s marks; no dirtier runs', async () => {
    const s = stubs({ live: [{ ...done, cost: { startedAt: 1_000, endedAt: 9_000, migrationStartedAt: 1_700, completedAt: 8_900, transferredBytes: 1, passes: 1, remainingLowBytes: 0 } }] });
    const row = await runTrial(s, input({ workload: null, service: serviceLoad() }));
    expectSteps(s.calls, [['prepareVm'], ['waitForGuest'], ['measureDirtyRate'], ['startService'], ['startAppLoad'], ['measureDirtyRate'], ['memoryCategories', 'startProbe'], ['guestClock'], ['liveMigrate#0:300'], ['stopProbe', 'guestClock'], ['stopAppLoad'], ['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
    // precopy from the migration's own start, the resume its total time later, the pause the hypervisor's downtime before that
    const resumedAt = 1_700 + final['total-time']!;
    expect(row.app).toEqual(stubApp(serviceLoad(), 'memcached 1.6.18', { commandAt: 1_000, startedAt: 1_700, pausedAt: resumedAt - final.downtime!, resumedAt }));
    expect(row.workingSetMiB).toBe(16);
    expect(row.dirtyRateMiBps).toBe(stubDirtyRate);
    // a move that never completed has no marks to cut by
    const failed = await runTrial(stubs({ live: [stall, stall, stall] }), input({ workload: null, service: serviceLoad(), fallback: 'none' }));
    expect(failed.app?.marks).toBeNull();
  });

  it('plans attempts that escalate cumulatively', () => {
    const plans = planAttempts({ maxBandwidth: 1, downtimeLimitMs: 300 }, input().ladder);
    expect(plans.map((p) => [p.index, p.downtimeLimitMs, !!p.autoConverge])).toEqual([[0, 300, false], [1, 1000, false], [2, 1000, true]]);
  });

  it('converges at once: metrics from the final poll and the probe, recorded once, torn down', async () => {
    const s = stubs({ live: [done] });
    const inp = input();
    const row = await runTrial(s, inp);
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    // DT is the probe's (the paper's measure), not QEMU's own figure, which is kept beside it;
    // MT = TMT − DT; the guest clock's lag is the change in its offset across the move
    const probe = stubProbe(inp.probeIntervalMs);
    expect(probe.downtimeMs).not.toBe(final.downtime);
    expect(row.metrics).toMatchObject({
      tmtMs: final['total-time'], tmtSource: 'qemu', dtMs: probe.downtimeMs, dtSource: 'probe', mtMs: final['total-time']! - probe.downtimeMs,
      downtime: { qemuMs: final.downtime, probeMs: probe.downtimeMs, probeLost: probe.lost, probeIntervalMs: inp.probeIntervalMs, guestClockLagMs: stubClockOffsetsMs[1] - stubClockOffsetsMs[0] },
      md: { totalBytes: final.ram!.transferred, precopyBytes: final.ram!['precopy-bytes'], downtimeBytes: final.ram!['downtime-bytes'] },
      iterations: final.ram!['dirty-sync-count'],
    });
    expect(row.dirtyRateMiBps).toBe(stubDirtyRate);
    // steps that run side by side may finish in any order
    expectSteps(s.calls, [['prepareVm'], ['waitForGuest'], ['measureDirtyRate'], ['startWorkload'], ['measureDirtyRate'], ['memoryCategories', 'startProbe'], ['guestClock'], ['liveMigrate#0:300'], ['stopProbe', 'guestClock', 'workloadIntegrity'], ['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
    // the memory step is asked about the workload's working set
    expect(row.memory).toMatchObject({ requestedMiB: inp.workload!.workingSetMiB, dirtiedMiB: inp.workload!.workingSetMiB });
    expect(s.recorded).toEqual([row]);
    // the model's inputs are the trial's own measurements, taken before the move
    expect(row.idleDirtyRateMiBps).toBe(stubIdleDirtyRate);
    expect(row.workloadWriteMiBps).toBe(stubWriteRate);
    expect(row.prediction!.inputs).toMatchObject({
      guest: { memoryMiB: 256, nonZeroMiB: row.memory!.nonZeroOnHostMiB, workload: { workingSetMiB: 64, writeRateMiBps: stubWriteRate, pattern: 'seq' }, idleDirtyMiBps: stubIdleDirtyRate },
      link: { bandwidthMiBps: 112, source: 'cap' }, nonZeroFrom: 'counted-on-host', writeRateFrom: 'workload-heartbeats',
    });
    // 64 MiB re-dirtied flat out is over 112 MiB/s × 300 ms: the model expects the second rung,
    // whatever the stubbed migration then did
    expect(row.prediction!.result).toMatchObject({ verdict: 'converged', attempt: 1, passes: 1 });
  }, 60_000);

  it("takes the metrics from the attempt that completed, and QEMU's downtime when the probe saw nothing", async () => {
    const s = stubs({ live: [stall, doneOther], probeSawNothing: true });
    const inp = input({ workload: { workingSetMiB: 24, rate: 'max', pattern: 'random' } });
    const row = await runTrial(s, inp);
    const other = (doneOther as Extract<AttemptResult, { status: 'completed' }>).final;
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 1, step: 'downtime limit 1000 ms' });
    expect(row.metrics).toMatchObject({
      tmtMs: other['total-time'], dtMs: other.downtime, dtSource: 'qemu', mtMs: other['total-time']! - other.downtime!,
      downtime: { qemuMs: other.downtime, probeMs: null, probeLost: null },
      md: { totalBytes: other.ram!.transferred }, iterations: other.ram!['dirty-sync-count'], setupMs: other['setup-time'],
    });
    expect(row.probe).toBeNull();
    expect(row.workingSetMiB).toBe(24);
    expect(row.memory).toMatchObject({ requestedMiB: 24 });
    expect(row.attempts.map((a) => [a.plan.index, a.result.status])).toEqual([[0, 'aborted'], [1, 'completed']]);
  }, 60_000);

  it("keeps to the paper's own steps with measureGuest false: no login to the guest for its memory or clock", async () => {
    const s = stubs({ live: [done] });
    const row = await runTrial(s, input({ measureGuest: false }));
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expectSteps(s.calls, [['prepareVm'], ['waitForGuest'], ['measureDirtyRate'], ['startWorkload'], ['measureDirtyRate'], ['memoryCategories(host only)', 'startProbe'], ['liveMigrate#0:300'], ['stopProbe', 'workloadIntegrity'], ['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
    expect(row.metrics!.downtime.guestClockLagMs).toBeNull();
    // the host's count of the guest's memory is enough for the model
    expect(row.prediction!.inputs.nonZeroFrom).toBe('counted-on-host');
    expect(row.metrics).toMatchObject({ tmtMs: final['total-time'], dtSource: 'probe' });
  }, 60_000);

  it('is auditable in the Temporal UI: every step carries a summary of what it does, the outcome is a search attribute', async () => {
    const s = stubs({ live: [stall, done] });
    const row = await runTrial(s, input({ audit: { campaign: 'paper', scenario: 'dirty-ramp', hypervisor: 'qemu', searchAttributes: true } }));
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 1, step: 'downtime limit 1000 ms' });
    const handle = client.workflow.getHandle(`paper/dirty-ramp/64MiB/r1#${n}`);
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => {
        const data = e.userMetadata?.summary?.data;
        return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : '(none)';
      });
    expect(summaries).toEqual([
      'start vm1 on hosta (256 MiB, 1 vCPU)',
      'wait for vm1 to answer ping (198.18.0.100)',
      "measure vm1's dirty rate on hosta before any workload (calc-dirty-rate)",
      'dirty 64 MiB in vm1 (flat out, seq)',
      "measure vm1's dirty rate on hosta (calc-dirty-rate)",
      "read vm1's memory: configured, on hosta, in the guest",
      'start the 10 ms ping probe to vm1',
      "read vm1's clock before the move",
      // each attempt's summary says what the model expects of it: 64 MiB re-dirtied every pass
      // stalls under the 33.6 MiB threshold; under 112 MiB it switches over after the first pass
      'migrate vm1 hosta→hostb, 64 MiB working set, attempt 0: precopy, downtime limit 300 ms, 112 MiB/s — model: stalls after 11 passes',
      // (154 MiB not zero) / 112 MiB/s = 1.375 s; 64 MiB + 0.6 MiB/s idle in it = 64.8 MiB in the
      // pause: 579 ms + 20 ms switchover; TMT 5 ms + 1375 + 579 + 20
      'migrate vm1 hosta→hostb, 64 MiB working set, attempt 1: downtime limit 1000 ms, 112 MiB/s — model: converges in 1 pass, DT 599 ms, TMT 2.0 s',
      'stop the ping probe to vm1 and read its downtime',
      "read vm1's clock after the move (on hostb)",
      "check vm1's memory arrived whole (stale writes after a full pass)",
      'tear down vm1 on hosta and hostb',
      'record paper/dirty-ramp/64MiB/r1 (converged)',
    ]);
    // registered at server start (MiglabOutcome …), set by the trial once it knows
    expect((await handle.describe()).typedSearchAttributes.get(SA.outcome)).toBe('converged');
    // ... so `miglab ls --trials --outcome converged` finds it (visibility catches up within moments)
    const id = `paper/dirty-ramp/64MiB/r1#${n}`;
    let listed: Awaited<ReturnType<typeof listTrials>> = [];
    for (let i = 0; i < 50 && !listed.some((t) => t.workflowId === id); i++) {
      listed = await listTrials(client, { outcome: 'converged' });
      if (!listed.some((t) => t.workflowId === id)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed.find((t) => t.workflowId === id)).toMatchObject({ state: 'COMPLETED', outcome: 'converged' });
    expect((await listTrials(client, { outcome: 'failed' })).map((t) => t.workflowId)).not.toContain(id);
    expect(trialQuery({ campaign: "pa'per", outcome: 'failed', workingSetMiB: 40 })).toBe("WorkflowType = 'trial' AND MiglabCampaign = 'paper' AND MiglabOutcome = 'failed' AND MiglabWorkingSetMB = 40");
  }, 60_000);

  it('climbs the ladder until a rung converges', async () => {
    const s = stubs({ live: [stall, stall, done] });
    const row = await runTrial(s, input());
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 2, step: 'auto-converge (throttle 20% +10%)' });
    expect(s.calls.filter((c) => c.startsWith('liveMigrate'))).toEqual(['liveMigrate#0:300', 'liveMigrate#1:1000', 'liveMigrate#2:1000+ac']);
    expect(row.attempts.map((a) => a.result.status)).toEqual(['aborted', 'aborted', 'completed']);
  }, 60_000);

  it('falls back to offline migration when no rung converges', async () => {
    const s = stubs({ live: [stall, stall, stall], offline: doneOther });
    const row = await runTrial(s, input());
    expect(row.outcome).toEqual({ kind: 'offline', afterAttempts: 3 });
    // the metrics are the offline move's
    expect(row.metrics?.tmtMs).toBe((doneOther as Extract<AttemptResult, { status: 'completed' }>).final['total-time']);
    expect(s.calls).toContain('offlineMigrate');
  }, 60_000);

  it('fails with the attempts as its reason when there is no fallback, still tearing down and recording', async () => {
    const s = stubs({ live: [stall, stall, stall] });
    const row = await runTrial(s, input({ fallback: 'none' }));
    expect(row.outcome.kind).toBe('failed');
    expect(row.outcome.kind === 'failed' && row.outcome.reason).toMatch(/precopy: aborted; downtime limit 1000 ms: aborted; auto-converge .*: aborted/);
    expect(row.metrics).toBeNull();
    expectSteps(s.calls.slice(-3), [['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
  }, 60_000);

  it('records a failed trial (with its reason) when setting up the VM fails for good', async () => {
    const s = stubs({ live: [], prepareError: ApplicationFailure.nonRetryable('VM vm1 is paused on hosta', 'VmState') });
    const row = await runTrial(s, input({ workload: null }));
    expect(row.outcome).toEqual({ kind: 'failed', reason: 'VM vm1 is paused on hosta' });
    expectSteps(s.calls, [['prepareVm'], ['teardown:hosta,hostb', 'teardown-done', 'recordTrial']]);
  }, 60_000);

  it('tears down when the trial is cancelled mid-migration, once the migration step has given up, and records nothing', async () => {
    const s = stubs({ live: [done], liveDelayMs: 20_000 });
    const { worker, taskQueue } = await t.worker(s.acts);
    ++n;
    const err = await worker.runUntil(async () => {
      const h = await client.workflow.start(WorkflowType.trial, { taskQueue, workflowId: `cancel-${n}`, args: [input()] });
      while (!s.calls.some((c) => c.startsWith('liveMigrate'))) await new Promise((r) => setTimeout(r, 50));
      await h.cancel();
      return h.result().catch((e) => e);
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    // the migration step heard the cancel (within the worker's heartbeat throttle), then the teardown ran
    expect(s.calls.indexOf('liveMigrate-cancelled')).toBeGreaterThan(-1);
    expect(s.calls.indexOf('teardown:hosta,hostb')).toBeGreaterThan(s.calls.indexOf('liveMigrate-cancelled'));
    expect(s.recorded).toHaveLength(0);
  }, 60_000);

  it("a campaign restarted while the previous run's trial still tears down waits for it, then runs the trial once", async () => {
    // Seen on the bed: the old child, cancelled by its parent's termination, was still in teardown
    // when the new run started a child under the same id; the trial was counted failed, unrecorded.
    const s = stubs({ live: [done, done], liveDelayMs: 2000, teardownDelayMs: 3000 });
    const acts = s.campaignActs;
    const { worker, taskQueue } = await t.worker(acts);
    ++n;
    const { trialId: _t, src, dst, workload: _w, ...template } = input();
    const campaignInput = { campaign: 'restart', lanes: [{ src, dst, template }], trials: [{ id: 'restart/ramp/64MiB/r1', scenario: 'ramp', workingSetMiB: 64, rate: 'max' as const, pattern: 'seq' as const }] };
    const workflowId = campaignWorkflowId(`restart-${n}`);
    const progress = await worker.runUntil(async () => {
      const first = await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId, args: [campaignInput] });
      while (!s.calls.some((c) => c.startsWith('liveMigrate'))) await new Promise((r) => setTimeout(r, 50));
      await first.terminate('restarting the campaign');
      const second = await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId, args: [campaignInput] });
      return second.result() as Promise<{ recorded: number; outcomes: Record<string, number> }>;
    });
    expect(progress.outcomes).toEqual({ converged: 1, offline: 0, failed: 0 });
    expect(s.recorded.map((r) => r.trialId)).toEqual(['restart/ramp/64MiB/r1']);
    // the old child's teardown finished before the new child prepared its VM
    const firstDone = s.calls.indexOf('teardown-done');
    expect(s.calls.indexOf('prepareVm', 1)).toBeGreaterThan(firstDone);
    expect(s.calls.filter((c) => c === 'prepareVm')).toHaveLength(2);
  }, 90_000);

  it('status, pause, resume and cancel a running campaign by name, as `miglab status|pause|resume|cancel` do', async () => {
    const s = stubs({ live: [done, done, done], liveDelayMs: 1500 });
    const acts = s.campaignActs;
    const { worker, taskQueue } = await t.worker(acts);
    ++n;
    const { trialId: _t, src, dst, workload: _w, ...template } = input();
    const name = `ctl-${n}`;
    const trials = rampTrials(name, 3);
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 100));
    };
    const watched: CampaignStatus[] = [];
    let watching: Promise<CampaignStatus> | undefined;
    await worker.runUntil(async () => {
      await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId: campaignWorkflowId(name), args: [{ campaign: name, lanes: [{ src, dst, template }], trials }] });
      await until(async () => s.calls.includes('prepareVm'));
      // `miglab watch` follows it from here to its end
      watching = watchCampaign(client, name, (st) => watched.push(st), 200);
      const st = await campaignStatus(client, name);
      expect(st).toMatchObject({ campaign: name, state: 'RUNNING', progress: { total: 3, recorded: 0, runningNow: [`${name}/ramp/8MiB/r1`], paused: false } });
      expect((await listCampaigns(client)).find((c) => c.campaign === name)).toMatchObject({ state: 'RUNNING' });

      await pauseCampaign(client, name);
      await until(async () => s.recorded.length === 1);
      await new Promise((r) => setTimeout(r, 1500)); // paused: no second trial starts
      expect(s.calls.filter((c) => c === 'prepareVm')).toHaveLength(1);
      expect((await campaignStatus(client, name)).progress).toMatchObject({ recorded: 1, runningNow: [], paused: true });

      await resumeCampaign(client, name);
      await until(async () => s.calls.filter((c) => c.startsWith('liveMigrate')).length === 2);
      const cancelled = await cancelCampaign(client, name, 20_000);
      expect(cancelled).toEqual({ campaign: name, closed: true, state: 'CANCELLED' });
    });
    // the trial in flight tore its VM down and recorded nothing; the third never started
    expect(s.calls.filter((c) => c.startsWith('teardown:'))).toHaveLength(2);
    expect(s.recorded.map((r) => r.trialId)).toEqual([`${name}/ramp/8MiB/r1`]);
    expect(s.calls.filter((c) => c === 'prepareVm')).toHaveLength(2);
    expect((await campaignStatus(client, name)).state).toBe('CANCELLED');
    // watch saw it run, pause, record a trial and close cancelled, and returned the closing state
    expect((await watching!).state).toBe('CANCELLED');
    expect(watched[0]).toMatchObject({ state: 'RUNNING', progress: { recorded: 0 } });
    expect(watched.some((w) => w.progress?.paused)).toBe(true);
    expect(watched.some((w) => w.progress?.recorded === 1)).toBe(true);
    expect(watched.at(-1)!.state).toBe('CANCELLED');
    await expect(pauseCampaign(client, name)).rejects.toThrow(/is cancelled, there is nothing to pause/);
    await expect(campaignStatus(client, 'no-such-campaign')).rejects.toBeInstanceOf(UserError);
  }, 120_000);

  describe("the campaign workflow's own branches", () => {
    /** A campaign of `n` 8 MiB trials over `lanes` lanes on stubbed activities; returns its result and the calls. */
    /** listed: the trials in the input, as miglab 0.6 sent them (still honoured); else the plan, as miglab sends it now */
    async function campaign(o: { n: number; lanes: number; trialsPerRun?: number; liveDelayMs?: number; listed?: boolean; factors?: Factors; stubbed?: ReturnType<typeof stubs>; name?: string; reuse?: boolean; fallback?: 'none'; kinds?: Hypervisor[]; during?: (h: { workflowId: string }, calls: string[], taskQueue: string) => Promise<void> }) {
      const s = o.stubbed ?? stubs({ live: Array.from({ length: o.n * 4 }, () => done), liveDelayMs: o.liveDelayMs ?? 0 });
      const acts = s.campaignActs;
      const { worker, taskQueue } = await t.worker(acts);
      const name = o.name ?? t.unique('branch');
      const { trialId: _t, src, dst, workload: _w, ...template } = input(o.fallback ? { fallback: o.fallback, ladder: [] } : {});
      const trials = { ...(o.listed ? { trials: rampTrials(name, o.n) } : { plan: rampPlan(name, o.n, o.factors) }), ...(o.reuse ? { reuse: 'ping-pong' as const } : {}) };
      const workflowId = campaignWorkflowId(name);
      const result = await worker.runUntil(async () => {
        const h = await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId, args: [{ campaign: name, lanes: Array.from({ length: o.lanes }, (_, i) => (o.kinds ? { src: `${src}${i}`, dst: `${dst}${i}`, hypervisor: o.kinds[i]!, template } : { src, dst, template })), ...trials, ...(o.trialsPerRun ? { trialsPerRun: o.trialsPerRun } : {}) }] });
        await o.during?.(h, s.calls, taskQueue);
        return (await h.result()) as { total: number; recorded: number; outcomes: Record<string, number>; unrecorded?: string[] };
      });
      const runs: { runId: string; historyLength: number; inputBytes: number }[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        const history = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
        const started = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!;
        // the workflow's own events (workflow tasks come and go with the timing of the lanes)
        const own = history.events!.filter((e) => !e.workflowTaskScheduledEventAttributes && !e.workflowTaskStartedEventAttributes && !e.workflowTaskCompletedEventAttributes);
        runs.push({ runId: w.runId, historyLength: own.length, inputBytes: started.input!.payloads!.reduce((k, p) => k + (p.data?.length ?? 0), 0) });
      }
      return { result, s, runs, name };
    }

    it('continues as new after trialsPerRun trials, and the next run takes up the rest: every trial once (the plan, and an older miglab\'s listed trials)', async () => {
      for (const listed of [false, true]) {
        const { result, s, runs, name } = await campaign({ n: 3, lanes: 1, trialsPerRun: 2, listed });
        expect(runs).toHaveLength(2);
        expect(result).toMatchObject({ total: 3, recorded: 3, outcomes: { converged: 3, offline: 0, failed: 0 }, unrecorded: [] });
        expect(s.recorded.map((r) => r.trialId).sort()).toEqual([1, 2, 3].map((k) => `${name}/ramp/8MiB/r${k}`));
      }
    }, 90_000);

    it("the progress query is answered across every run continue-as-new starts (only the first run's count of the store goes before it), and `miglab status` always has numbers", async () => {
      const polls: ({ answer: number } | { failure: string })[] = [];
      const statuses: CampaignStatus[] = [];
      const name = t.unique('progress');
      const { runs } = await campaign({
        n: 12, lanes: 1, trialsPerRun: 1, name,
        during: async (h) => {
          const handle = client.workflow.getHandle(h.workflowId);
          for (;;) {
            await handle.query(progressQuery).then((p) => polls.push({ answer: p.recorded }), (err: Error) => polls.push({ failure: `${err.name}: ${err.message}` }));
            const st = await campaignStatus(client, name);
            if (st.state !== 'RUNNING') break;
            statuses.push(st);
          }
        },
      });
      expect(runs).toHaveLength(12);
      // 12 runs, each polled (a run takes longer than a poll): a query registered after the run's
      // first lookup failed at each run's start
      expect(polls.filter((p) => 'answer' in p).length).toBeGreaterThan(12);
      const firstAnswer = polls.findIndex((p) => 'answer' in p);
      const failures = polls.filter((p, i) => 'failure' in p && i > firstAnswer);
      expect(failures).toEqual([]);
      for (const p of polls.slice(0, firstAnswer)) expect(p).toMatchObject({ failure: expect.stringMatching(/^QueryNotRegisteredError/) });
      expect(statuses.length).toBeGreaterThan(12);
      expect(statuses.filter((st) => st.progress === null)).toEqual([]);
      expect(new Set(statuses.map((st) => st.progress!.recorded)).size).toBeGreaterThan(6);
    }, 90_000);

    it("a plan's input and each run's history do not grow with the campaign: 12 trials in windows of 4 as small as 4 trials in one", async () => {
      const small = await campaign({ n: 4, lanes: 2, trialsPerRun: 4 });
      const large = await campaign({ n: 12, lanes: 2, trialsPerRun: 4 });
      expect(large.result).toMatchObject({ total: 12, recorded: 12, unrecorded: [] });
      expect(new Set(large.s.recorded.map((r) => r.trialId)).size).toBe(12);
      expect(large.runs).toHaveLength(3);
      const [s0] = small.runs;
      for (const r of large.runs) {
        // the same plan but for its repetitions, and where this run starts
        expect(r.inputBytes).toBeLessThan(s0!.inputBytes + 200);
        // 4 trials a run: as long as the small campaign's one run, less the counts only the first run reads (3 events)
        expect(r.historyLength).toBeGreaterThanOrEqual(s0!.historyLength - 3);
        expect(r.historyLength).toBeLessThanOrEqual(s0!.historyLength);
      }
    }, 90_000);

    it('a rerun of a finished campaign runs nothing again: every window is found recorded', async () => {
      const first = await campaign({ n: 5, lanes: 1, trialsPerRun: 2 });
      const again = await campaign({ n: 5, lanes: 1, trialsPerRun: 2, stubbed: first.s, name: first.name });
      expect(again.result).toMatchObject({ total: 5, recorded: 5, outcomes: { converged: 5 } });
      expect(first.s.recorded).toHaveLength(5);
      expect(first.s.calls.filter((c) => c === 'prepareVm')).toHaveLength(5);
    }, 90_000);

    it('ping-pong reuse: the lane\'s VM moves there and back, booted once and again only after a failure; kept between trials, stopped when the campaign ends', async () => {
      // the third trial's migration stalls (no fallback): it fails and stops its VM
      const s = stubs({ live: [done, done, stall, done, done] });
      const { result, name } = await campaign({ n: 4, lanes: 1, reuse: true, fallback: 'none', stubbed: s, trialsPerRun: 2 });
      expect(result).toMatchObject({ total: 4, recorded: 4, outcomes: { converged: 3, failed: 1 } });
      const rows = s.recorded;
      expect(rows.map((r) => [r.trialId.replace(`${name}/ramp/8MiB/`, ''), `${r.src}→${r.dst}`, r.vm?.fresh])).toEqual([
        ['r1', 'hosta→hostb', true],
        ['r2', 'hostb→hosta', false],
        ['r3', 'hosta→hostb', false],
        ['r4', 'hosta→hostb', true],
      ]);
      // one owner, the lane's, throughout: the backend leaves a VM of that owner running where it is
      expect(new Set(s.prepared.map((p) => p.owner)).size).toBe(1);
      expect(s.prepared[0]!.owner).toMatch(new RegExp(`^${name}/lane0/`));
      // kept after every move, stopped after the failure and once more at the end (across continue-as-new)
      expect(s.calls.filter((c) => c.startsWith('teardown:'))).toEqual([
        'teardown:hosta,hostb keep hostb',
        'teardown:hostb,hosta keep hosta',
        'teardown:hosta,hostb',
        'teardown:hosta,hostb keep hostb',
        'teardown:hosta,hostb',
      ]);
    }, 90_000);

    it("ping-pong reuse: a kept VM that did not survive to the next trial is booted anew, and its row says fresh", async () => {
      const s = stubs({ live: [done, done, done], lostKeptVm: 2 });
      await campaign({ n: 3, lanes: 1, reuse: true, stubbed: s });
      expect(s.recorded.map((r) => [r.src, r.vm?.fresh])).toEqual([['hosta', true], ['hostb', true], ['hosta', false]]);
    }, 60_000);

    it("factor levels reach the migration: xbzrle off and on, each repetition's trials before the next's, in the seed's order", async () => {
      const { result, s, name } = await campaign({ n: 3, lanes: 1, factors: { xbzrle: ['off', 64] } });
      expect(result).toMatchObject({ total: 6, recorded: 6 });
      const ids = s.recorded.map((r) => r.trialId);
      expect(ids).toEqual([...plannedTrials(rampPlan(name, 3, { xbzrle: ['off', 64] }))].map((p) => p.id));
      expect(ids.map((id) => Number(/r(\d+)$/.exec(id)![1]))).toEqual([1, 1, 2, 2, 3, 3]);
      expect(new Set(ids)).toEqual(new Set([1, 2, 3].flatMap((r) => [`${name}/ramp/8MiB/xboff/r${r}`, `${name}/ramp/8MiB/xb64/r${r}`])));
      // each trial's migration had its level: the recorded attempt plans and the stub's calls say so
      for (const row of s.recorded) expect(row.attempts[0]!.plan).toMatchObject(row.trialId.includes('/xb64/') ? { tuning: { xbzrleCacheMiB: 64 } } : { tuning: { xbzrleCacheMiB: null } });
      expect(s.calls.filter((c) => c.startsWith('liveMigrate#0:300+xb64'))).toHaveLength(3);
    }, 90_000);

    it('pairs of two hypervisors: each lane takes only the trials of its kind, every trial once; the VM as big as its level', async () => {
      const { result, s } = await campaign({ n: 2, lanes: 2, factors: { hypervisor: ['qemu', 'libvirt'], memoryMiB: [256, 384], vcpus: [2] }, kinds: ['qemu', 'libvirt'] });
      expect(result).toMatchObject({ total: 8, recorded: 8, unrecorded: [] });
      const ran = s.recorded.map((r) => [parseTrialId(r.trialId).levels!.split('_')[0], r.src]);
      expect(ran.filter(([kind]) => kind === 'qemu').map(([, src]) => src)).toEqual(Array(4).fill('hosta0'));
      expect(ran.filter(([kind]) => kind === 'libvirt').map(([, src]) => src)).toEqual(Array(4).fill('hosta1'));
      // each VM booted at its trial's size
      expect(s.prepared.map((p) => p.memoryMiB).sort()).toEqual([256, 256, 256, 256, 384, 384, 384, 384]);
      expect(new Set(s.prepared.map((p) => p.vcpus))).toEqual(new Set([2]));
    }, 60_000);

    it("a lane with a queue of its own (its pair's) runs its trials there, on the workers that serve it; the campaign's queue runs none", async () => {
      const s = stubs({ live: [done, done] });
      const { worker, taskQueue } = await t.worker(s.campaignActs);
      const pairQueue = pairTaskQueue(taskQueue, 'hosta', 'hostb');
      const { worker: pairWorker } = await t.worker(s.campaignActs, { taskQueue: pairQueue });
      const name = t.unique('pairq');
      const { trialId: _t, src, dst, workload: _w, ...template } = input();
      const args = [{ campaign: name, lanes: [{ src, dst, taskQueue: pairQueue, template }], plan: rampPlan(name, 2) }];
      const handle = await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId: campaignWorkflowId(name), args });
      const done$ = handle.result();
      // the campaign's queue served, the pair's not yet: status names the pair whose trials wait
      const mainRuns = worker.runUntil(done$);
      let waiting: CampaignStatus | undefined;
      for (let i = 0; i < 100 && !(waiting?.workers); i++) {
        waiting = await campaignStatus(client, name);
        if (!waiting.workers) await new Promise((r) => setTimeout(r, 100));
      }
      expect(waiting).toMatchObject({ state: 'RUNNING', workers: 1, pairs: [{ pair: 'hosta→hostb', taskQueue: pairQueue, workers: 0 }] });
      expect(unservedPairsHint('two.yaml', waiting!)).toBe('no worker serves hosta→hostb: its trials wait — `miglab worker two.yaml --pairs hosta:hostb` on a controller that reaches it');
      const [result] = await Promise.all([mainRuns, pairWorker.runUntil(done$)]);
      expect(result).toMatchObject({ total: 2, recorded: 2 });
      const trialsOn = async (q: string) => {
        let n = 0;
        for await (const _w of client.workflow.list({ query: `WorkflowType = 'trial' AND TaskQueue = '${q}'` })) n++;
        return n;
      };
      expect(await trialsOn(pairQueue)).toBe(2);
      expect(await trialsOn(taskQueue)).toBe(0);
    }, 60_000);

    it('runs its lanes side by side: two lanes migrate at once, every trial once', async () => {
      const { result, s } = await campaign({ n: 4, lanes: 2, liveDelayMs: 1500 });
      expect(result).toMatchObject({ total: 4, recorded: 4 });
      expect(s.recorded).toHaveLength(4);
      // the second lane's migration started before the first lane's ended: both in flight together
      const starts = s.calls.map((c, i) => [c, i] as const).filter(([c]) => c.startsWith('liveMigrate#'));
      expect(s.calls.indexOf(starts[1]![0], starts[0]![1] + 1)).toBeLessThan(s.calls.indexOf('recordTrial'));
    }, 60_000);

    it('a trial that ends without its row is not counted as recorded, and is named', async () => {
      const { result, name } = await campaign({
        n: 2, lanes: 1, liveDelayMs: 3000,
        during: async (_h, calls, taskQueue) => {
          while (!calls.some((c) => c.startsWith('liveMigrate'))) await new Promise((r) => setTimeout(r, 50));
          // the trial's workflow is terminated: it records nothing
          for (let done = false; !done; ) {
            for await (const w of client.workflow.list({ query: `WorkflowType = 'trial' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
              await client.workflow.getHandle(w.workflowId).terminate('test: the trial is lost');
              done = true;
            }
          }
        },
      });
      expect(result).toMatchObject({ total: 2, recorded: 1, outcomes: { converged: 1, offline: 0, failed: 0 }, unrecorded: [`${name}/ramp/8MiB/r1`] });
    }, 60_000);
  });
});
