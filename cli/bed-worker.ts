/**
 * What `miglab smoke` and `miglab run` share: a Temporal session, an SSH pool and the QEMU backend
 * for the bed, and a worker in this process with the activities the caller builds from them; all
 * closed again when the caller's work is done.
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { QemuBackend } from '../activities/qemu/backend.js';
import type { HypervisorBackend } from '../activities/backend.js';
import { SshPool } from '../activities/ssh/pool.js';
import type { Site } from '../lab/site.js';
import { connectTemporal, type TemporalSession, type TemporalTarget } from '../server/connection.js';
import { createWorker, workerIdentity } from '../workers/worker.js';
import { WorkerGroup, type RunnableWorker } from '../workers/worker-group.js';
import { SMOKE_TASK_QUEUE } from '../workflows/names.js';

export interface BedWorkerContext {
  session: TemporalSession;
  /** the process's workers: the main queue's and each pair's, run and stopped as one */
  worker: RunnableWorker;
  taskQueue: string;
  backend: HypervisorBackend;
}

export async function withBedWorker<T>(
  opts: {
    inventory: Site;
    temporal: TemporalTarget | undefined;
    log: (l: string) => void;
    taskQueue?: (client: Client) => Promise<string>;
    /** the pairs' own queues beside the main one (their trials run there), from the main queue's name */
    pairQueues?: (mainQueue: string) => string[];
    /** the campaign's backend; QEMU driven directly by default */
    backend?: (pool: SshPool) => Promise<HypervisorBackend>;
    /** the controller's name its workers show (default MIGLAB_CONTROLLER, else the host's) */
    controller?: string;
  },
  activities: (deps: { pool: SshPool; backend: HypervisorBackend; identity: string }) => object,
  work: (ctx: BedWorkerContext) => Promise<T>,
): Promise<T> {
  const session = await connectTemporal(opts.temporal, opts.log);
  const pool = new SshPool();
  let workerConnection: NativeConnection | undefined;
  const workers: Worker[] = [];
  let failed = false;
  try {
    workerConnection = await session.nativeConnection();
    const backend = opts.backend ? await opts.backend(pool) : new QemuBackend({ pool, hosts: opts.inventory.hosts });
    const taskQueue = opts.taskQueue ? await opts.taskQueue(session.client) : SMOKE_TASK_QUEUE;
    const acts = activities({ pool, backend, identity: workerIdentity(opts.controller) });
    const queues = [taskQueue, ...(opts.pairQueues?.(taskQueue) ?? [])];
    for (const q of queues) workers.push(await createWorker({ connection: workerConnection, namespace: session.namespace, activities: acts, taskQueue: q, ...(opts.controller ? { controller: opts.controller } : {}) }));
    return await work({ session, worker: new WorkerGroup(workers as [Worker, ...Worker[]]), taskQueue, backend });
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // Every step of the cleanup runs, and none of them may replace the error that ended the work.
    const problems: string[] = [];
    const step = async (what: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    // A worker that never ran (the work failed before it started it) still holds its connection and
    // keeps the process alive: run it to an immediate stop to release both.
    for (const w of workers) if (w.getState() === 'INITIALIZED') await step('stopping the worker', () => w.runUntil(Promise.resolve()));
    await step('closing SSH connections', () => pool.closeAll());
    if (workerConnection) await step("closing the worker's connection", () => workerConnection!.close());
    await step('closing the Temporal connection', () => session.close());
    if (problems.length) {
      if (failed) opts.log(`note: while stopping after the error below: ${problems.join('; ')}`);
      else throw new Error(`miglab: the work finished, but cleaning up failed: ${problems.join('; ')}`);
    }
  }
}
