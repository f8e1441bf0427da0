/**
 * Whatever a test run starts, it stops: after the run — also one interrupted with Ctrl-C or
 * SIGTERM — every Temporal dev server and miglab process this run started, and every bed it
 * brought up, is stopped, and the run says what it had to clean up: a test that leaves something
 * behind is a bug to fix, named here. Only this run's: processes are told apart by a marker in
 * their environment (inherited from here), beds by the run their record names (lab/bed.ts) —
 * another test run on the same machine (a CI clone, or a second run in this checkout) keeps its
 * own. Synchronous, so that it also completes inside a signal handler.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bedDir } from '../../lab/bed.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'miglab.js');
const MARK = 'MIGLAB_TEST_RUN';

/** pids of the processes whose command line matches, as pgrep -f sees them */
function pids(args: string[]): number[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return []; // pgrep: nothing matched
    throw err;
  }
}

/** Whether a process carries this run's marker in its environment (it descends from this run). */
function ours(pid: number, run: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${MARK}=${run}`);
  } catch {
    return false; // gone, or not ours to read
  }
}

/** Beds up now whose record lives under this checkout's state dir. */
function ourBeds(): string[] {
  const netns = execFileSync('ip', ['-o', 'netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean);
  // miglab-<bed>-sw and miglab-<bed>-<host>: the bed is what the switch namespace names
  return netns.map((n) => /^miglab-(.+)-sw$/.exec(n)?.[1]).filter((b): b is string => !!b && existsSync(bedDir(b)));
}

/**
 * The test run that brought a bed up, from its record (lab/bed.ts). A bed with no record is half
 * up (its `up` crashed, or is still under way): taken down like this run's own, so none is left.
 */
function upBy(bed: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(bedDir(bed), 'bed.json'), 'utf8')) as { testRun?: string }).testRun;
  } catch {
    return undefined;
  }
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone already */
  }
}

function cleanUp(run: string, bedsBefore: readonly string[], interrupted: boolean): void {
  // an interrupted run's test workers are still at work: stop them first, or they start more
  if (interrupted) for (const pid of pids(['-P', String(process.pid)])) kill(pid, 'SIGKILL');
  // the CLI processes next: a worker left running would start VMs again
  const clis = pids(['-f', 'bin/miglab.js (run|worker|smoke)']).filter((p) => ours(p, run));
  for (const pid of clis) kill(pid, 'SIGKILL');
  const beds = ourBeds().filter((b) => !bedsBefore.includes(b) && [run, undefined].includes(upBy(b)));
  for (const bed of beds) execFileSync(process.execPath, [BIN, 'lab', 'down', '--bed', bed], { stdio: 'ignore' }); // ends its VMs and daemons too
  const servers = pids(['-f', 'temporal server start-dev']).filter((p) => ours(p, run));
  for (const pid of servers) kill(pid, 'SIGTERM');
  // scripts/temporal-cluster.sh's server, and its PostgreSQL (SIGINT: PostgreSQL's fast shutdown)
  const clusterServers = pids(['-f', 'temporal-server-v[0-9.]+ .*start']).filter((p) => ours(p, run));
  for (const pid of clusterServers) kill(pid, 'SIGTERM');
  const postgres = pids(['-x', 'postgres']).filter((p) => ours(p, run));
  for (const pid of postgres) kill(pid, 'SIGINT');
  const said = [...clis.map((p) => `miglab process pid ${p}`), ...beds.map((b) => `bed ${b}`), ...servers.map((p) => `Temporal dev server pid ${p}`), ...clusterServers.map((p) => `Temporal server pid ${p}`), ...postgres.map((p) => `PostgreSQL pid ${p}`)];
  if (said.length) process.stderr.write(`\n[test teardown] ${interrupted ? 'interrupted: ' : 'the test run left behind, '}now stopped: ${said.join(', ')}\n`);
}

export default function setup(): () => void {
  const run = `${process.pid}-${Date.now()}`;
  process.env[MARK] = run; // inherited by the test workers and everything they start
  const bedsBefore = ourBeds();
  let done = false;
  const once = (interrupted: boolean) => {
    if (done) return;
    done = true;
    cleanUp(run, bedsBefore, interrupted);
  };
  // vitest runs no global teardown when it is interrupted: clean up on the signal itself
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.prependListener(signal, () => once(true));
  return () => once(false);
}
