/** The miglab worker: runs miglab's workflows and the activities it is given on one task queue. */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { installRuntime } from '../server/runtime.js';
import { prebuiltBundle } from './prebuilt-bundle.js';
import { SMOKE_TASK_QUEUE } from '../workflows/names.js';

/** The workflows entry point: the compiled one when running from dist/, the source under vitest. */
export function workflowsPath(): string {
  for (const candidate of ['../workflows/index.js', '../workflows/index.ts']) {
    const p = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('miglab: cannot find workflows/index (run `npm run build`)');
}

/**
 * How long a stopping worker waits for steps still running. A step whose attempt the server has
 * already given up on (its heartbeat timed out while its host was cut off) can sit on an SSH call
 * that never returns; without a limit the worker, and `miglab run` with it, never exits (seen
 * once in the link-cut fault test).
 */
export const SHUTDOWN_FORCE_TIME = '30 seconds';
export const HEARTBEAT_THROTTLE = '2 seconds';

/** The workflows bundled once per process when there is no prebuilt bundle (from source): each worker would take about 2 s. */
let bundled: Promise<{ code: string }> | undefined;
const bundleOnce = (): Promise<{ code: string }> => (bundled ??= bundleWorkflowCode({ workflowsPath: workflowsPath() }));

/** A controller's name as an operator gives it (`--controller`, MIGLAB_CONTROLLER): what the Web UI and `ls --trials --steps` show. */
export const CONTROLLER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The identity a worker shows on every step it runs (the history's ActivityTaskStarted events,
 * a pending step's last worker): the controller's name — the host's unless named — and the process,
 * so two workers on one controller are told apart too.
 */
export function workerIdentity(controller: string | undefined = process.env.MIGLAB_CONTROLLER || undefined): string {
  return `${controller ?? hostname()}:${process.pid}`;
}

export async function createWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  activities: object;
  taskQueue?: string;
  /** the controller's name (default MIGLAB_CONTROLLER, else the host's) */
  controller?: string;
}): Promise<Worker> {
  installRuntime();
  const bundle = prebuiltBundle();
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? SMOKE_TASK_QUEUE,
    identity: workerIdentity(opts.controller),
    // The bundle built with the code when it matches it; else bundled now, once for every worker of the process (about 2 s).
    workflowBundle: bundle ? { codePath: bundle } : await bundleOnce(),
    activities: opts.activities,
    shutdownForceTime: SHUTDOWN_FORCE_TIME,
    // A cancel reaches an activity at its next heartbeat sent to the server: at most this long after
    // it was requested (the default, 80 % of the 30 s heartbeat timeout, let a cancelled migration
    // run on for ~24 s).
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
  });
}
