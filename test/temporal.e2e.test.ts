/**
 * The embedded Temporal server for real (the CLI's dev server with SQLite), on ports of its own so
 * that it never meets a user's server: start, reuse, refuse a port taken by something else, run
 * the smoke migration workflow on the bed through it, replay that history, stop only what miglab
 * started, and find the finished workflow again after a restart on the same database.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import type { runSmoke } from '../cli/smoke.js';
import { devServerStatus, ensureDevServer, portOpen, stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import { SA } from '../workflows/search-attributes.js';
import { workflowsPath } from '../workers/worker.js';
import { connectTemporal, resolveTemporalTarget } from '../server/connection.js';
import { UserError } from '../lib/errors.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'miglab.js');
const dir = mkdtempSync(join(tmpdir(), 'miglab-temporal-'));
const opts: DevServerOptions = { ip: '127.0.0.1', port: 17233, uiPort: 18233, namespace: 'default', dir };

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((c) => {
      c.on('error', () => undefined); // clients probing the port hang up abruptly
      c.end('not temporal\n');
    }).listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('embedded Temporal dev server', () => {
  let firstPid: number | undefined;
  let smokeId = '';

  afterAll(async () => {
    await stopDevServer(opts);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a frontend or UI port taken by another program, naming the fix', async () => {
    const squatter = await listen(17234);
    try {
      const err = await ensureDevServer({ ...opts, port: 17234, uiPort: 18234 }).catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toMatch(/port 17234 .* not a Temporal server/);
      expect(err.fix).toMatch(/MIGLAB_TEMPORAL_PORT/);
    } finally {
      squatter.close();
    }
    const uiSquatter = await listen(18235);
    try {
      const err = await ensureDevServer({ ...opts, port: 17235, uiPort: 18235 }).catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toMatch(/18235 .*Web UI/);
      expect(err.fix).toMatch(/MIGLAB_TEMPORAL_UI_PORT/);
    } finally {
      uiSquatter.close();
    }
  });

  it('starts one when none is listening, with the Web UI and the search attributes', async () => {
    expect(await portOpen(opts.ip, opts.port)).toBe(false);
    const h = await ensureDevServer(opts);
    expect(h.how).toBe('started');
    firstPid = h.pid;
    const ui = await fetch(`http://127.0.0.1:${opts.uiPort}/`);
    expect(ui.status).toBe(200);
    const conn = await Connection.connect({ address: h.address });
    const attrs = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
    await conn.close();
    for (const key of Object.values(SA)) expect(Object.keys(attrs.customAttributes ?? {})).toContain(key.name);
    expect(existsSync(join(dir, 'temporal.db'))).toBe(true);
    // its SQLite keeps a write-ahead log (SQLITE_PRAGMAS): the header's read and write format
    // versions (bytes 18 and 19) are 2 in WAL mode, 1 with the default rollback journal
    const header = readFileSync(join(dir, 'temporal.db')).subarray(18, 20);
    expect([...header]).toEqual([2, 2]);
  }, 120_000);

  it('reuses the one that is running', async () => {
    const h = await ensureDevServer(opts);
    expect(h.how).toBe('reused');
    expect(h.pid).toBe(firstPid);
  });

  it('runs `miglab smoke` on the bed through this server (bin/miglab.js, --json, exit 0), and its history replays deterministically', async () => {
    // the CLI as users run it, pointed at this file's server by the variables users set
    const env = { ...process.env, MIGLAB_TEMPORAL_PORT: String(opts.port), MIGLAB_TEMPORAL_UI_PORT: String(opts.uiPort), MIGLAB_TEMPORAL_DIR: dir };
    const run = spawnSync(process.execPath, [BIN, 'smoke', '--bed', 'tsmoke', '--subnet', '198.18.4.0/24', '--memory', '256', '--json'], { env, encoding: 'utf8', timeout: 200_000 });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as Awaited<ReturnType<typeof runSmoke>>;
    // progress goes to stderr, the result alone to stdout
    expect(run.stderr).toMatch(/tsmoke/);
    smokeId = r.workflowId;
    expect(r.auditUrl).toContain(`:${opts.uiPort}/`);
    expect(r.result.migration.status).toBe('completed');
    expect(r.result.before.hostname).toBe('smoke');
    expect(r.result.after).toMatchObject({ ping: true, hostname: 'smoke' });
    expect(r.result.after!.uptimeS).toBeGreaterThan(r.result.before.uptimeS);
    // it reused this server: the same process still serves
    expect((await devServerStatus(opts)).pid).toBe(firstPid);

    const conn = await Connection.connect({ address: `${opts.ip}:${opts.port}` });
    const client = new Client({ connection: conn });
    const history = await client.workflow.getHandle(smokeId).fetchHistory();
    const activities = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
    expect(activities).toEqual(['startVm', 'waitForGuest', 'checkGuest', 'migrateVm', 'stopVm', 'waitForGuest', 'checkGuest', 'stopVm', 'stopVm']);
    await Worker.runReplayHistory({ workflowsPath: workflowsPath() }, history, smokeId);
    await conn.close();
  }, 240_000);

  it('uses a server named through envconfig (TEMPORAL_ADDRESS) and starts none of its own', async () => {
    const target = resolveTemporalTarget({ TEMPORAL_ADDRESS: `${opts.ip}:${opts.port}`, TEMPORAL_NAMESPACE: 'default', TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') });
    expect(target.kind).toBe('external');
    const logs: string[] = [];
    const session = await connectTemporal(target, (l) => logs.push(l));
    const desc = await session.client.workflow.getHandle(smokeId).describe();
    expect(desc.status.name).toBe('COMPLETED');
    expect(session.uiUrl).toBeUndefined();
    expect(logs.join('\n')).not.toMatch(/dev server/);
    await session.close();
  });

  it('stops only what it started, and a restart on the same database still knows the workflow', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'miglab-temporal-other-'));
    expect(await stopDevServer({ ...opts, dir: otherDir })).toBe('not-ours');
    expect((await devServerStatus(opts)).serving).toBe(true);
    expect(await stopDevServer(opts)).toBe('stopped');
    expect(await portOpen(opts.ip, opts.port)).toBe(false);
    expect(await stopDevServer(opts)).toBe('not-running');

    const again = await ensureDevServer(opts);
    expect(again.how).toBe('started');
    const conn = await Connection.connect({ address: again.address });
    const desc = await new Client({ connection: conn }).workflow.getHandle(smokeId).describe();
    expect(desc.status.name).toBe('COMPLETED');
    await conn.close();
    rmSync(otherDir, { recursive: true, force: true });
  }, 120_000);
});
