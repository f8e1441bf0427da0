/**
 * Whatever a test run starts, it stops: after the run — also one interrupted with Ctrl-C or
 * SIGTERM — every Temporal dev server, bed and miglab VM that was not there before the run is
 * stopped, and the run says what it had to clean up: a test that leaves something behind is a bug
 * to fix, named here. Synchronous, so that it also completes inside a signal handler.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Snapshot {
  servers: number[];
  vms: number[];
  beds: string[];
  /** `miglab run|worker|smoke` processes a test started (one whose test timed out is never signalled) */
  clis: number[];
}

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'miglab.js');

/** pids of the processes whose command line matches, as pgrep -f sees them */
function pids(args: string[]): number[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return []; // pgrep: nothing matched
    throw err;
  }
}

function snapshot(): Snapshot {
  const netns = execFileSync('ip', ['-o', 'netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean);
  // miglab-<bed>-sw and miglab-<bed>-<host>: the bed is what the switch namespace names
  const beds = netns.map((n) => /^miglab-(.+)-sw$/.exec(n)?.[1]).filter((b): b is string => !!b);
  return { servers: pids(['-f', 'temporal server start-dev']), vms: pids(['-f', 'qemu-system-x86_64 -name [^ ]*,process=miglab-']), beds, clis: pids(['-f', 'bin/miglab.js (run|worker|smoke)']) };
}

function cleanUp(before: Snapshot, interrupted: boolean): void {
  // an interrupted run's test workers are still at work: stop them first, or they start more
  if (interrupted) for (const pid of pids(['-P', String(process.pid)])) kill(pid, 'SIGKILL');
  const after = snapshot();
  // the CLI processes first: a worker left running would start VMs again
  const clis = after.clis.filter((p) => !before.clis.includes(p));
  for (const pid of clis) kill(pid, 'SIGKILL');
  const beds = after.beds.filter((b) => !before.beds.includes(b));
  for (const bed of beds) execFileSync(process.execPath, [BIN, 'lab', 'down', '--bed', bed], { stdio: 'ignore' }); // ends its VMs and daemons too
  const servers = after.servers.filter((p) => !before.servers.includes(p));
  const vms = after.vms.filter((p) => !before.vms.includes(p));
  for (const pid of [...servers, ...vms]) kill(pid, 'SIGTERM');
  const said = [...clis.map((p) => `miglab process pid ${p}`), ...beds.map((b) => `bed ${b}`), ...servers.map((p) => `Temporal dev server pid ${p}`), ...vms.map((p) => `VM pid ${p}`)];
  if (said.length) process.stderr.write(`\n[test teardown] ${interrupted ? 'interrupted: ' : 'the test run left behind, '}now stopped: ${said.join(', ')}\n`);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone already (a bed's teardown took it) */
  }
}

export default function setup(): () => void {
  const before = snapshot();
  let done = false;
  const once = (interrupted: boolean) => {
    if (done) return;
    done = true;
    cleanUp(before, interrupted);
  };
  // vitest runs no global teardown when it is interrupted: clean up on the signal itself
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.prependListener(signal, () => once(true));
  return () => once(false);
}
