/**
 * Trials end to end on the real bed, real QEMU and the real dev server: a baseline trial that
 * converges, and a trial whose live attempts all hit the completion timeout (the migration is
 * starved of bandwidth) and that falls back to offline migration.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuBackend } from '../activities/qemu/backend.js';
import { SshPool } from '../activities/ssh/pool.js';
import { createTrialActivities } from '../activities/trial-activities.js';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { labVmSpec } from '../lab/guest.js';
import { ResultsStore } from '../results/store.js';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import { installRuntime } from '../server/runtime.js';
import { workflowsPath } from '../workers/worker.js';
import type { TrialInput, TrialRow } from '../workflows/trial-types.js';
import { WorkflowType } from '../workflows/names.js';

const BED = 'trial';
const dir = mkdtempSync(join(tmpdir(), 'miglab-trial-e2e-'));
const opts: DevServerOptions = { ip: '127.0.0.1', port: 17253, uiPort: 18253, namespace: 'default', dir: join(dir, 'temporal') };
const MiB = 2 ** 20;

describe('trial workflow on the bed', () => {
  let inv: BedInventory;
  let conn: Connection;
  let native: NativeConnection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const pool = new SshPool();
  const store = new ResultsStore(join(dir, 'results'));

  beforeAll(async () => {
    await labDown(BED);
    inv = await labUp({ bed: BED, subnet: '198.18.6.0/24' });
    await ensureDevServer(opts);
    installRuntime();
    conn = await Connection.connect({ address: `${opts.ip}:${opts.port}` });
    native = await NativeConnection.connect({ address: `${opts.ip}:${opts.port}` });
    client = new Client({ connection: conn });
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    worker = await Worker.create({ connection: native, taskQueue: 'trial-e2e', workflowsPath: workflowsPath(), activities: createTrialActivities({ pool, backend, inventory: inv, store }) });
    running = worker.run();
  }, 180_000);

  afterAll(async () => {
    // a worker that crashed during the tests fails them here, instead of passing as a quiet shutdown
    worker?.shutdown();
    await running;
    await native?.close();
    await conn?.close();
    await pool.closeAll();
    await labDown(BED);
    await stopDevServer(opts);
    rmSync(dir, { recursive: true, force: true });
  });

  const base = (over: Partial<TrialInput>): TrialInput => ({
    trialId: 'e2e/baseline/idle/r1',
    src: 'hosta',
    dst: 'hostb',
    spec: labVmSpec(inv, 0, { name: 'tvm', memoryMiB: 256 }),
    workload: null,
    migration: { maxBandwidth: 112 * MiB, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 },
    ladder: [],
    fallback: 'offline',
    probeIntervalMs: 10,
    bootTimeoutMs: 120_000,
    ...over,
  });

  const run = (input: TrialInput) => client.workflow.execute(WorkflowType.trial, { taskQueue: 'trial-e2e', workflowId: input.trialId, args: [input] }) as Promise<TrialRow>;

  async function vmGone(vm: string) {
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    for (const h of inv.hosts) expect(await backend.vmState(h.name, vm)).toEqual({ kind: 'absent' });
  }

  it('a baseline trial converges with default precopy; its row holds the paper metrics and is recorded once', async () => {
    const row = await run(base({}));
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    const m = row.metrics!;
    expect(m.tmtMs).toBeGreaterThan(100);
    expect(m.mtMs).toBe(m.tmtMs - m.dtMs);
    expect(m.downtime.qemuMs).toBeGreaterThanOrEqual(0);
    expect(row.probe!.sent).toBeGreaterThan(50); // 10 ms probe across the whole trial
    expect(m.md.totalBytes).toBeGreaterThan(10 * MiB);
    expect(m.throughputMiBps).toBeGreaterThan(1);
    // the guest's clock lags the controller's by about the pause it went through (± a round trip)
    expect(m.downtime.guestClockLagMs).not.toBeNull();
    expect(m.downtime.guestClockLagMs!).toBeGreaterThan(-20);
    expect(m.downtime.guestClockLagMs!).toBeLessThan(m.downtime.qemuMs! + 500);
    const mem = row.memory!;
    expect(mem.configuredMiB).toBe(256);
    expect(mem.allocatedOnHostMiB).toBeGreaterThan(mem.usedInGuestMiB!);
    expect(mem.usedInGuestMiB).toBeGreaterThan(5);
    expect(mem.requestedMiB).toBe(0);
    const recorded = await store.readTrials<TrialRow>();
    expect(recorded.map((r) => r.trialId)).toEqual(['e2e/baseline/idle/r1']);
    expect(recorded[0]!.row.outcome).toEqual(row.outcome);
    expect(existsSync(join(store.rawDir('e2e/baseline/idle/r1', 0), 'query-migrate.jsonl'))).toBe(true);
    await vmGone('tvm');
  }, 240_000);

  it('a starved migration hits the completion timeout on every rung, falls back offline, and ends on the destination before teardown', async () => {
    const id = 'e2e/dirty-ramp/16MiB/r1';
    const row = await run(base({
      trialId: id,
      spec: labVmSpec(inv, 1, { name: 'tvm2', memoryMiB: 256 }),
      workload: { workingSetMiB: 16, rate: 'max', pattern: 'seq' },
      // 1 MiB/s cannot move the guest within 2 s (8 s per GiB × 256 MiB)
      migration: { maxBandwidth: MiB, downtimeLimitMs: 300, completionTimeoutSPerGiB: 8, stallIterations: 10, fallbackMaxBandwidth: 112 * MiB },
      ladder: [{ step: 'raise-downtime', downtimeLimitMs: 1000 }],
    }));
    expect(row.outcome).toEqual({ kind: 'offline', afterAttempts: 2 });
    expect(row.attempts.map((a) => [a.plan.name, a.result.status])).toEqual([['precopy', 'aborted'], ['downtime limit 1000 ms', 'aborted'], ['offline', 'completed']]);
    for (const a of row.attempts.slice(0, 2)) expect(a.result.status === 'aborted' && a.result.rule).toBe('completion-timeout');
    // every attempt keeps its own cost; the move's cost spans them all, beyond the final attempt's TMT and MD
    for (const a of row.attempts) expect(a.result.cost!.endedAt).toBeGreaterThan(a.result.cost!.startedAt);
    for (const a of row.attempts.slice(0, 2)) expect(a.result.cost!.transferredBytes).toBeGreaterThan(0);
    const costs = row.attempts.map((a) => a.result.cost!);
    expect(row.endToEnd).toEqual({ attempts: 3, totalMs: costs[2]!.endedAt - costs[0]!.startedAt, totalBytes: costs.reduce((n, c) => n + c.transferredBytes, 0) });
    expect(row.endToEnd!.totalMs).toBeGreaterThan(row.metrics!.tmtMs);
    expect(row.endToEnd!.totalBytes).toBeGreaterThan(row.metrics!.md.totalBytes);
    expect(row.dirtyRateMiBps).not.toBeNull();
    expect(row.memory).toMatchObject({ configuredMiB: 256, requestedMiB: 16 });
    expect(row.memory!.usedInGuestMiB!).toBeGreaterThan(16); // the workload's set is resident in the guest
    // offline: the guest was paused for the whole move, and its clock shows it
    expect(row.metrics!.downtime.guestClockLagMs!).toBeGreaterThan(500);
    expect(row.metrics!.tmtMs).toBeGreaterThan(0);
    // the workload wrote its whole working set again on the destination and found every page as it left it
    expect(row.integrity).toMatchObject({ staleWrites: 0, fullPass: true });
    expect(readdirSync(join(store.dir, 'raw', encodeURIComponent(id))).sort()).toEqual(['attempt-0', 'attempt-1', 'attempt-2', 'console-hosta.log', 'console-hostb.log', 'probe']);
    // the source's console saw the guest boot
    expect(readFileSync(join(store.dir, 'raw', encodeURIComponent(id), 'console-hosta.log'), 'utf8')).toContain('miglab-guest ready name=tvm2');
    await vmGone('tvm2');
  }, 300_000);

  it('a working set precopy cannot keep up with is stalled, then moved by post-copy: the guest runs on the destination with no lost writes', async () => {
    const id = 'e2e/dirty-ramp/64MiB/r1';
    const row = await run(base({
      trialId: id,
      spec: labVmSpec(inv, 2, { name: 'tvm3', memoryMiB: 256 }),
      workload: { workingSetMiB: 64, rate: 'max', pattern: 'seq' },
      migration: { maxBandwidth: 112 * MiB, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 4 },
      ladder: [{ step: 'postcopy' }],
      fallback: 'none',
    }));
    expect(row.attempts.map((a) => [a.plan.name, a.result.status])).toEqual([['precopy', 'aborted'], ['post-copy', 'completed']]);
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 1, step: 'post-copy' });
    const pc = row.attempts[1]!.result;
    if (pc.status !== 'completed') throw new Error('unreachable');
    // switched after one full precopy pass, and the rest of memory came over on demand or in the background
    expect(pc.postcopy).toMatchObject({ atPass: 1, reason: 'precopy made 1 pass' });
    expect(row.metrics!.md.postcopyBytes!).toBeGreaterThan(0);
    expect(row.integrity).toMatchObject({ staleWrites: 0, fullPass: true });
    await vmGone('tvm3');
  }, 300_000);
});
