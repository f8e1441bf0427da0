/**
 * Fault injection on the bed: `miglab run` as a separate process, killed with SIGKILL while a
 * trial migrates; the Temporal server stopped and started again (same SQLite file) mid-campaign.
 * After each, a rerun of `miglab run` finishes the campaign and `verify` finds every trial recorded
 * once, no orphan VM and no VM running on two hosts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { writeCampaign } from '../campaign/builder.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCampaign } from '../cli/verify.js';
import { trialStepRuns } from '../cli/control.js';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { ResultsStore } from '../results/store.js';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import type { TrialRow } from '../workflows/trial-types.js';
import { trialWorkflowId } from '../workflows/names.js';
import { durationS, LONG, retrySpanS } from '../workflows/policies.js';
import { SSH_TIMING } from '../activities/ssh/pool.js';

const BED = 'fault';
const SUBNET = '198.18.11.0/24';
const dir = mkdtempSync(join(tmpdir(), 'miglab-faults-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17274, uiPort: 18274, namespace: 'default', dir: join(dir, 'temporal') };
const VM_MIB = 256;
/**
 * Each test's campaign: idle baseline trials, as many as the test needs (one to take the fault;
 * one more where the fault comes mid-campaign or the campaign must go on after a failed trial).
 * 16 MiB/s stretches an idle guest's migration to several seconds: time to strike in it.
 */
function campaignFile(campaign: string, repetitions: number, migration: { completionTimeoutSPerGiB?: number } = {}): string {
  return writeCampaign(dir, {
    campaign, bed: BED, vm: { memoryMiB: VM_MIB },
    scenarios: [{ name: 'baseline', kind: 'baseline' }],
    repetitions,
    migration: { bandwidthMiBps: 16, downtimeLimitMs: 300, ...migration },
    results: 'results',
  });
}
const env = {
  ...process.env,
  MIGLAB_TEMPORAL_PORT: String(server.port),
  MIGLAB_TEMPORAL_UI_PORT: String(server.uiPort),
  MIGLAB_TEMPORAL_DIR: server.dir,
};
const bin = join(import.meta.dirname, '..', 'bin', 'miglab.js');

/** `miglab run` in its own process group, so SIGKILL takes the worker and everything it spawned in-group. */
function startRun(file: string): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, [bin, 'run', file, '--bed-subnet', SUBNET], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}


describe('faults during a campaign (bed)', () => {
  let client: Client;
  let connection: Connection | undefined;
  let inv: BedInventory;

  beforeAll(async () => {
    await labDown(BED);
    inv = await labUp({ bed: BED, subnet: SUBNET });
    await ensureDevServer(server);
    connection = await Connection.connect({ address: `${server.ip}:${server.port}` });
    client = new Client({ connection });
  });

  afterAll(async () => {
    await connection?.close();
    await labDown(BED);
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the trial's workflow has the named activity pending (started on a worker). */
  async function waitForActivity(trial: string, activity: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const d = await client.workflow.getHandle(trialWorkflowId(trial)).describe().catch(() => undefined);
      if (d?.raw.pendingActivities?.some((a) => a.activityType?.name === activity && a.lastStartedTime)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${trial}: no ${activity} started within ${timeoutMs} ms`);
  }

  /** Attempts of each start of an activity in a trial's history, in order (as `ls --trials --steps` reads them). */
  async function activityAttempts(trial: string, activity: string): Promise<number[]> {
    return (await trialStepRuns(client, trialWorkflowId(trial))).filter((r) => r.step === activity && r.state === 'done').map((r) => r.attempt);
  }

  it('worker killed (SIGKILL) mid-migration: the rerun follows the same migration to its end; every trial recorded once, nothing left running', async () => {
    const file = campaignFile('faults', 1);
    const first = startRun(file);
    await waitForActivity('faults/baseline/idle/r1', 'liveMigrate', 180_000);
    await new Promise((r) => setTimeout(r, 1000)); // well into the transfer
    process.kill(-first.child.pid!, 'SIGKILL');
    expect(await first.exit).toBeNull(); // killed, not exited

    const second = startRun(file);
    expect(await second.exit, second.out()).toBe(0);
    const rows = await new ResultsStore(join(dir, 'results')).readTrials<TrialRow>();
    const killed = rows.find((r) => r.trialId === 'faults/baseline/idle/r1')!.row;
    // One live attempt, converged: the retried activity followed QEMU's migration, it did not start another.
    expect(killed.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect(killed.attempts).toHaveLength(1);
    // ... and it was retried: the first start died with the worker, a later one finished it.
    const starts = await activityAttempts('faults/baseline/idle/r1', 'liveMigrate');
    expect(starts.at(-1)!).toBeGreaterThanOrEqual(2);
    const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
  }, 600_000);

  it('Temporal server stopped and restarted (same SQLite file) mid-campaign, worker killed with it: the campaign resumes and finishes', async () => {
    rmSync(join(dir, 'results'), { recursive: true, force: true }); // the last test's rows
    // the second trial takes the fault: the first is recorded before it
    const file = campaignFile('faults2', 2);
    const first = startRun(file);
    await waitForActivity('faults2/baseline/idle/r2', 'liveMigrate', 300_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${first.out()}`);
    });
    expect(await stopDevServer(server)).toBe('stopped');
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exit;
    const second = startRun(file); // starts the embedded server again on the same database
    expect(await second.exit, second.out()).toBe(0);
    expect(second.out()).toContain('started the embedded dev server');
    const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 2, recorded: 2, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
    const rows = await new ResultsStore(join(dir, 'results')).readTrials<TrialRow>();
    expect(rows.map((r) => r.row.outcome.kind)).toEqual(['converged', 'converged']);
  }, 600_000);

  // The link cut's window, from the policy the step runs under and the SSH timings. 40 s per GiB:
  // a 256 MiB guest's migration is given up after 10 s; the step then waits on the cut host and
  // fails within LONG's heartbeat timeout at the latest (HostUnreachableError once keepalives go
  // unanswered, or the heartbeat timeout); one more handshake's limit is the slack. The link must
  // be back before the step's retries run out: each later attempt waits out a handshake first.
  const sPerGiB = 40;
  const limitS = (sPerGiB * VM_MIB) / 1024;
  const cutS = limitS + durationS(LONG.heartbeatTimeout) + SSH_TIMING.readyTimeoutMs / 1000;
  const retriesLastS = limitS + retrySpanS(LONG) + (LONG.retry!.maximumAttempts! - 1) * (SSH_TIMING.readyTimeoutMs / 1000);

  it(`destination's link cut for ${cutS} s mid-migration: the migration times out and is cancelled, the step fails while the host is unreachable and is retried until the link is back; the campaign finishes and miglab run exits`, async () => {
    expect(cutS, 'no window fits: the step would give up before its host could be back').toBeLessThan(retriesLastS);
    rmSync(join(dir, 'results'), { recursive: true, force: true });
    const file = campaignFile('faults3', 1, { completionTimeoutSPerGiB: sPerGiB });
    // the server was restarted in the test before: a fresh connection
    await connection?.close().catch(() => undefined);
    connection = await Connection.connect({ address: `${server.ip}:${server.port}` });
    client = new Client({ connection });
    const port = inv.plan.hosts.find((h) => h.name === 'hostb')!.switchPort;
    const link = (state: 'up' | 'down') => execFileSync('ip', ['-n', inv.plan.switchNetns, 'link', 'set', port, state]);
    try {
      const run = startRun(file);
      await waitForActivity('faults3/baseline/idle/r1', 'liveMigrate', 300_000);
      link('down');
      const cutAt = Date.now();
      // each failure the step showed while the link was down, with when it was first seen (s after the cut)
      const failures = new Map<string, number>();
      while (Date.now() < cutAt + cutS * 1000) {
        const d = await client.workflow.getHandle(trialWorkflowId('faults3/baseline/idle/r1')).describe().catch(() => undefined);
        for (const a of d?.raw.pendingActivities ?? []) {
          const f = a.lastFailure;
          const kind = f?.applicationFailureInfo?.type ?? (f?.timeoutFailureInfo ? `timeout ${f.timeoutFailureInfo.timeoutType}` : undefined);
          const said = kind && `${a.activityType?.name}: ${kind}: ${f?.message ?? ''} (before attempt ${a.attempt})`;
          if (said && !failures.has(said)) failures.set(said, Math.round((Date.now() - cutAt) / 1000));
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      link('up');
      // exits once the campaign is done: connections an attempt cut off had lost track of (a dead
      // one's late close unlisting its replacement) once kept the process alive for good
      expect(await run.exit, run.out()).toBe(0);
      expect(run.out()).not.toMatch(/still held .* after finishing/);
      // The step fails while the host is unreachable: HostUnreachableError, or a heartbeat timeout
      // if it waited on SSH to the cut host without heartbeating (see docs/testing.md).
      const seen = [...failures].map(([f, s]) => `+${s} s ${f}`).join('\n');
      console.log(`link cut ${cutS} s; failures seen:\n${seen}`);
      expect([...failures.keys()].some((f) => /^liveMigrate: (HostUnreachableError|timeout \d+: activity Heartbeat timeout)/.test(f)), seen).toBe(true);
      const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
      expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
      const rows = await new ResultsStore(join(dir, 'results')).readTrials<TrialRow>();
      const cut = rows.find((r) => r.trialId === 'faults3/baseline/idle/r1')!.row;
      expect(cut.outcome.kind).not.toBe('failed'); // moved once the link was back (live again, or offline)
    } finally {
      link('up');
    }
  }, 600_000);

  it('results store unwritable for 30 s when a trial records its row: the row is retried until it can be written, then recorded once', async () => {
    const results = join(dir, 'results');
    rmSync(results, { recursive: true, force: true });
    const file = campaignFile('faults4', 1);
    await connection?.close().catch(() => undefined);
    connection = await Connection.connect({ address: `${server.ip}:${server.port}` });
    client = new Client({ connection });
    const trials = join(results, 'trials');
    let broken = false;
    const mend = () => {
      if (!broken) return;
      rmSync(trials, { force: true });
      if (existsSync(`${trials}.away`)) renameSync(`${trials}.away`, trials);
      broken = false;
    };
    try {
      const run = startRun(file);
      await waitForActivity('faults4/baseline/idle/r1', 'liveMigrate', 300_000);
      // The trials folder becomes a plain file: every write of a row into it fails.
      if (existsSync(trials)) renameSync(trials, `${trials}.away`); // the store makes it at the first row
      writeFileSync(trials, 'not a folder');
      broken = true;
      const failures = new Set<string>();
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const d = await client.workflow.getHandle(trialWorkflowId('faults4/baseline/idle/r1')).describe().catch(() => undefined);
        for (const a of d?.raw.pendingActivities ?? []) if (a.lastFailure) failures.add(`${a.activityType?.name}: ${a.lastFailure.message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      mend();
      expect(await run.exit, run.out()).toBe(0);
      // the store's mkdir of its trials folder meets the file: EEXIST
      expect([...failures].some((f) => /^recordTrial: .*(EEXIST|ENOTDIR)/.test(f)), [...failures].join('\n')).toBe(true);
      const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
      expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
      const rows = await new ResultsStore(results).readTrials<TrialRow>();
      expect(rows.find((r) => r.trialId === 'faults4/baseline/idle/r1')!.row.outcome.kind).toBe('converged');
    } finally {
      mend();
    }
  }, 600_000);

  it("destination's sshd stopped for 40 s (listener and sessions) as a trial starts migrating: the step retries past its limit, the trial is recorded failed with the reason, its teardown waits for the host, the campaign finishes", async () => {
    rmSync(join(dir, 'results'), { recursive: true, force: true });
    // a second trial: the campaign goes on after the failed one
    const file = campaignFile('faults5', 2);
    await connection?.close().catch(() => undefined);
    connection = await Connection.connect({ address: `${server.ip}:${server.port}` });
    client = new Client({ connection });
    const netns = inv.plan.hosts.find((h) => h.name === 'hostb')!.netns;
    const sshdPids = () => execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).split('\n').filter(Boolean)
      .filter((pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sshd'; } catch { return false; } });
    try {
      const run = startRun(file);
      await waitForActivity('faults5/baseline/idle/r1', 'liveMigrate', 300_000);
      const killed = sshdPids();
      expect(killed.length).toBeGreaterThan(0);
      for (const pid of killed) process.kill(Number(pid), 'SIGKILL');
      // down past the migration step's whole retry span (its policy's backoffs: 30 s), so it gives up
      const outageMs = (retrySpanS(LONG) + 10) * 1000;
      const failures = new Set<string>();
      const until = Date.now() + outageMs;
      while (Date.now() < until) {
        const d = await client.workflow.getHandle(trialWorkflowId('faults5/baseline/idle/r1')).describe().catch(() => undefined);
        for (const a of d?.raw.pendingActivities ?? []) {
          const type = a.lastFailure?.applicationFailureInfo?.type;
          if (type) failures.add(`${a.activityType?.name}: ${type}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      await labUp({ bed: BED, subnet: SUBNET }); // starts the host's sshd again
      // exit 1: the campaign finished, and a trial failed
      expect(await run.exit, run.out()).toBe(1);
      expect([...failures].some((f) => f.endsWith(': HostUnreachableError')), [...failures].join('\n')).toBe(true);
      const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
      expect(v).toMatchObject({ expected: 2, recorded: 2, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
      const rows = await new ResultsStore(join(dir, 'results')).readTrials<TrialRow>();
      const cut = rows.find((r) => r.trialId === 'faults5/baseline/idle/r1')!.row;
      // the migration step gives up after its retries (~30 s); the row says why
      expect(cut.outcome).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/ECONNREFUSED/) });
      expect(rows.filter((r) => r.trialId !== cut.trialId).map((r) => r.row.outcome.kind)).toEqual(['converged']);
    } finally {
      await labUp({ bed: BED, subnet: SUBNET });
    }
  }, 600_000);
});
