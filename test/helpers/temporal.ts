/**
 * A Temporal dev server for one test file: free ports, its own SQLite folder, one workflow bundle
 * for the file's workers, unique task queues and ids, and everything stopped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../lib/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../../server/dev-server.js';
import { installRuntime } from '../../server/runtime.js';
import { HEARTBEAT_THROTTLE, workflowsPath } from '../../workers/worker.js';

export interface TestTemporal {
  options: DevServerOptions;
  client: Client;
  native: NativeConnection;
  /** `<prefix>-<n>`: unique within this server's life */
  unique(prefix: string): string;
  /** a worker on a new task queue with this file's bundle */
  worker(activities: object, opts?: { taskQueue?: string; workflowsPath?: string }): Promise<{ worker: Worker; taskQueue: string }>;
  close(): Promise<void>;
}

export async function startTestTemporal(name: string): Promise<TestTemporal> {
  const dir = mkdtempSync(join(tmpdir(), `miglab-${name}-`));
  const options: DevServerOptions = { ip: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default', dir };
  await ensureDevServer(options);
  installRuntime();
  const address = `${options.ip}:${options.port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address });
  const bundles = new Map<string, Promise<WorkflowBundle>>();
  const bundleOf = (path: string) => {
    if (!bundles.has(path)) bundles.set(path, bundleWorkflowCode({ workflowsPath: path }));
    return bundles.get(path)!;
  };
  let n = 0;
  const unique = (prefix: string) => `${prefix}-${++n}`;
  return {
    options,
    client,
    native,
    unique,
    async worker(activities, opts = {}) {
      const taskQueue = opts.taskQueue ?? unique(`${name}-tq`);
      // the worker's cancel delivery as miglab's own (workers/worker.ts)
      const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await bundleOf(opts.workflowsPath ?? workflowsPath()), activities, maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE });
      return { worker, taskQueue };
    },
    async close() {
      // the server is stopped whatever the connections say
      try {
        await native.close();
        await connection.close();
      } finally {
        await stopDevServer(options);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
