/**
 * The embedded Temporal server: the Temporal CLI's dev server with SQLite persistence and its
 * Web UI. miglab starts one when none is listening, reuses one that is, and stops only what it
 * started (it keeps a record of what it started under the state dir).
 */
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ExitCode, UserError } from '../lib/errors.js';
import { spawnDetached } from '../lib/exec.js';
import { statePaths } from '../lib/paths.js';
import { processAlive as alive } from '../lib/process.js';
import { addMissingSearchAttributes, devServerSearchAttributeFlags } from './search-attributes.js';
import { temporalCli } from './temporal-cli.js';

export interface DevServerOptions {
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** folder for the SQLite file, the log and the record of the process */
  dir: string;
}

export function defaultDevServerOptions(): DevServerOptions {
  const env = process.env;
  return {
    ip: '127.0.0.1',
    port: Number(env.MIGLAB_TEMPORAL_PORT ?? 7233),
    uiPort: Number(env.MIGLAB_TEMPORAL_UI_PORT ?? 8233),
    namespace: 'default',
    // a second, separate server (e.g. a test's) keeps its SQLite file and log elsewhere
    dir: env.MIGLAB_TEMPORAL_DIR ?? statePaths().temporal,
  };
}

export interface DevServerHandle {
  address: string;
  uiUrl: string;
  namespace: string;
  /** started: this call started it; reused: one was already serving */
  how: 'started' | 'reused';
  pid: number | undefined;
}

/**
 * SQLite's defaults (a rollback journal, fsync at every commit) made the database the dev server's
 * bottleneck: every workflow and activity task commits (bench:scale, 600 stubbed trials: 2.8
 * trials/s, 9.6 with these). A write-ahead log synced only at checkpoints loses nothing when the
 * server process dies (the fault tests kill it mid-campaign); only a crash of the machine itself
 * can lose the last commits, which Temporal then runs again — and every miglab step is safe to
 * run again.
 */
export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'];

interface ServerRecord {
  pid: number;
  port: number;
  uiPort: number;
  dbFile: string;
  startedAt: string;
}

const files = (o: DevServerOptions) => ({
  db: join(o.dir, 'temporal.db'),
  log: join(o.dir, 'server.log'),
  record: join(o.dir, 'server.json'),
});

export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** True when a Temporal frontend answers at the address. */
export async function isTemporal(address: string, timeoutMs = 3000): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: timeoutMs });
    await conn.workflowService.getSystemInfo({}, );
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

async function readRecord(o: DevServerOptions): Promise<ServerRecord | undefined> {
  const f = files(o).record;
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(await readFile(f, 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
}

/** Ensures the search attributes exist on a server miglab did not start. */
async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    await addMissingSearchAttributes(conn, namespace);
  } finally {
    await conn.close();
  }
}

export async function ensureDevServer(o: DevServerOptions = defaultDevServerOptions(), log: (l: string) => void = () => {}): Promise<DevServerHandle> {
  const address = `${o.ip}:${o.port}`;
  const uiUrl = `http://${o.ip}:${o.uiPort}`;
  const record = await readRecord(o);
  if (await portOpen(o.ip, o.port)) {
    if (!(await isTemporal(address))) {
      throw new UserError(
        `port ${o.port} on ${o.ip} is taken by something that is not a Temporal server`,
        `stop whatever listens there (\`ss -ltnp 'sport = :${o.port}'\` shows it), or set MIGLAB_TEMPORAL_PORT to a free port`,
        ExitCode.Unavailable,
      );
    }
    await registerSearchAttributes(address, o.namespace);
    const ours = record && record.port === o.port && alive(record.pid);
    return { address, uiUrl, namespace: o.namespace, how: 'reused', pid: ours ? record.pid : undefined };
  }
  if (await portOpen(o.ip, o.uiPort)) {
    throw new UserError(
      `port ${o.uiPort} on ${o.ip} (the Temporal Web UI) is taken by another program`,
      `stop whatever listens there (\`ss -ltnp 'sport = :${o.uiPort}'\` shows it), or set MIGLAB_TEMPORAL_UI_PORT to a free port`,
      ExitCode.Unavailable,
    );
  }

  await mkdir(o.dir, { recursive: true });
  const f = files(o);
  const cli = temporalCli();
  log(`starting the Temporal dev server (${cli}) on ${address}, UI ${uiUrl}, database ${f.db}`);
  const args = [
    'server', 'start-dev',
    '--db-filename', f.db,
    ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    '--ip', o.ip,
    '--port', String(o.port),
    '--ui-port', String(o.uiPort),
    '--namespace', o.namespace,
    '--log-level', 'warn',
    ...devServerSearchAttributeFlags(),
  ];
  const pid = await spawnDetached(cli, args, openSync(f.log, 'a'));
  await writeFile(f.record, JSON.stringify({ pid, port: o.port, uiPort: o.uiPort, dbFile: f.db, startedAt: new Date().toISOString() } satisfies ServerRecord, null, 2));

  // The CLI's own start can take a while on a slow machine; wait on the real frontend instead.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      const tail = existsSync(f.log) ? readFileSync(f.log, 'utf8').split('\n').slice(-15).join('\n') : '';
      await rm(f.record, { force: true });
      throw new UserError(`the Temporal dev server exited during start-up:\n${tail}`, `read ${f.log}; a damaged ${f.db} can be moved away`, ExitCode.Unavailable);
    }
    if ((await portOpen(o.ip, o.port)) && (await isTemporal(address))) {
      return { address, uiUrl, namespace: o.namespace, how: 'started', pid };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new UserError(`the Temporal dev server did not answer on ${address} within 90 s`, `read ${f.log}`, ExitCode.Unavailable);
}

/** Stops the dev server if (and only if) miglab started it. */
export async function stopDevServer(o: DevServerOptions = defaultDevServerOptions()): Promise<'stopped' | 'not-ours' | 'not-running'> {
  const record = await readRecord(o);
  if (!record || !alive(record.pid)) {
    await rm(files(o).record, { force: true });
    return (await portOpen(o.ip, o.port)) ? 'not-ours' : 'not-running';
  }
  const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
  if (!cmdline.includes('start-dev')) {
    // The pid was reused by an unrelated process: never signal it.
    await rm(files(o).record, { force: true });
    return 'not-running';
  }
  process.kill(record.pid, 'SIGTERM');
  for (let i = 0; i < 200 && alive(record.pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(record.pid)) process.kill(record.pid, 'SIGKILL');
  await rm(files(o).record, { force: true });
  return 'stopped';
}

export async function devServerStatus(o: DevServerOptions = defaultDevServerOptions()) {
  const record = await readRecord(o);
  const address = `${o.ip}:${o.port}`;
  const serving = (await portOpen(o.ip, o.port)) && (await isTemporal(address));
  return {
    address,
    uiUrl: `http://${o.ip}:${o.uiPort}`,
    serving,
    startedByMiglab: !!record && alive(record.pid),
    pid: record && alive(record.pid) ? record.pid : undefined,
    dbFile: files(o).db,
  };
}
