/**
 * The CLI as users run it (bin/miglab.js in its own process) against a dev server of this file's:
 * `server start|status|stop`, and `status`, `ls`, `watch`, `pause`, `resume`, `cancel` of a
 * campaign whose worker (stubbed activities) runs in this process — exit codes and --json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { installRuntime } from '../server/runtime.js';
import { HEARTBEAT_THROTTLE, workflowsPath } from '../workers/worker.js';
import { campaignTaskQueue, campaignWorkflowId, WorkflowType } from '../workflows/names.js';
import { freePort } from '../lib/free-port.js';
import { done, input, rampTrials, stubs } from './helpers/trial-stubs.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'miglab.js');
const dir = mkdtempSync(join(tmpdir(), 'miglab-cli-control-'));
const ports = { port: 0, ui: 0 };
const env = () => ({ ...process.env, MIGLAB_TEMPORAL_PORT: String(ports.port), MIGLAB_TEMPORAL_UI_PORT: String(ports.ui), MIGLAB_TEMPORAL_DIR: join(dir, 'temporal') });

/** One miglab command, to its exit. */
function miglab(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

afterAll(async () => {
  await miglab(['server', 'stop']);
  rmSync(dir, { recursive: true, force: true });
});

describe('the miglab CLI against a Temporal server', () => {
  it('server status says not serving (exit 3); start starts one, status finds it, stop stops it', async () => {
    ports.port = await freePort();
    ports.ui = await freePort();
    const before = await miglab(['server', 'status', '--json']);
    expect(before.code).toBe(3);
    expect(JSON.parse(before.out)).toMatchObject({ serving: false, startedByMiglab: false });
    // with no server, commands that ask about campaigns say so and start none
    const none = await miglab(['status', 'nothing']);
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/no Temporal server is running at 127\.0\.0\.1:\d+/);
    expect((await miglab(['server', 'status', '--json'])).code).toBe(3);

    const start = await miglab(['server', 'start', '--json']);
    expect(start.code, start.err).toBe(0);
    expect(JSON.parse(start.out)).toMatchObject({ how: 'started', address: `127.0.0.1:${ports.port}` });
    const again = await miglab(['server', 'start', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ how: 'reused' });
    const status = await miglab(['server', 'status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ serving: true, startedByMiglab: true });
    const stop = await miglab(['server', 'stop', '--json']);
    expect(JSON.parse(stop.out)).toEqual({ outcome: 'stopped' });
    expect((await miglab(['server', 'status'])).code).toBe(3);
  }, 180_000);

  it('status, ls, pause, resume, watch and cancel a running campaign, with --json and exit codes', async () => {
    expect((await miglab(['server', 'start'])).code).toBe(0);
    installRuntime();
    const address = `127.0.0.1:${ports.port}`;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const s = stubs({ live: [done, done, done], liveDelayMs: 4000 });
    const acts = s.campaignActs;
    const name = 'clictl';
    const taskQueue = campaignTaskQueue(name);
    const worker = await Worker.create({ connection: native, taskQueue, workflowsPath: workflowsPath(), activities: acts, maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE });
    const { trialId: _t, src, dst, workload: _w, ...template } = input();
    const trials = rampTrials(name, 3);
    try {
      // started with no worker yet: status says nothing serves it (a query would only time out)
      await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId: campaignWorkflowId(name), args: [{ campaign: name, lanes: [{ src, dst, template }], trials }] });
      const unserved = await miglab(['status', name, '--json']);
      expect(unserved.code, unserved.err).toBe(0);
      expect(JSON.parse(unserved.out)).toMatchObject({ campaign: name, state: 'RUNNING', workers: 0, progress: null });
      expect((await miglab(['status', name])).out).toMatch(/no worker is serving it/);
      await worker.runUntil(async () => {
        while (!s.calls.includes('prepareVm')) await new Promise((r) => setTimeout(r, 100));

        const st = await miglab(['status', name, '--json']);
        expect(st.code, st.err).toBe(0);
        expect(JSON.parse(st.out)).toMatchObject({ campaign: name, state: 'RUNNING', workers: 1, progress: { total: 3 } });
        expect((await miglab(['status', name])).out).not.toMatch(/no worker/);
        const ls = await miglab(['ls', '--json']);
        expect(JSON.parse(ls.out)).toEqual(expect.arrayContaining([expect.objectContaining({ campaign: name, state: 'RUNNING' })]));

        const pause = await miglab(['pause', name, '--json']);
        expect(pause.code, pause.err).toBe(0);
        expect(JSON.parse(pause.out)).toEqual({ campaign: name, paused: true });
        const paused = await miglab(['status', name, '--json']);
        expect(JSON.parse(paused.out).progress.paused).toBe(true);
        const resume = await miglab(['resume', name, '--json']);
        expect(JSON.parse(resume.out)).toEqual({ campaign: name, paused: false });

        // watch writes one JSON line per change to stdout until the campaign closes; cancel closes it
        const watching = miglab(['watch', name, '--json', '--interval', '0.5']);
        await new Promise((r) => setTimeout(r, 1500));
        const cancel = await miglab(['cancel', name, '--json', '--wait', '60']);
        expect(cancel.code, cancel.err).toBe(0);
        expect(JSON.parse(cancel.out)).toEqual({ campaign: name, closed: true, state: 'CANCELLED' });
        const w = await watching;
        expect(w.code).toBe(1); // it closed, but not completed
        const lines = w.out.trim().split('\n').map((l) => JSON.parse(l) as { state: string });
        expect(lines[0]!.state).toBe('RUNNING');
        expect(lines.at(-1)!.state).toBe('CANCELLED');
      });
      const closed = await miglab(['status', name]);
      expect(closed.code).toBe(1); // cancelled
      expect(closed.out).toContain(`campaign ${name} cancelled`);
      const again = await miglab(['pause', name]);
      expect(again.code).toBe(2);
      expect(again.err).toMatch(/is cancelled, there is nothing to pause/);
    } finally {
      await native.close();
      await connection.close();
    }
  }, 180_000);
});
