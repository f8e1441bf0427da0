/**
 * Benchmark (not a test): how far the campaign workflow's orchestration scales. A campaign of N
 * trials (default 100,000) over L lanes (default 50: simulated host pairs) runs on a real Temporal
 * dev server with miglab's real campaign and trial workflows; only the trial activities are stubs
 * that answer at once (nothing to boot or migrate: hosts cannot be simulated at this scale) and the
 * results store is a map in memory. Measures the start (the client's start call, and until the
 * first trial runs), the trials a second the orchestration sustains, each run's history length
 * and input size (continue-as-new after every window), the worker's memory, and how long the
 * progress query and `miglab status` take while it runs.
 * Usage: npm run bench:scale [-- --trials 100000 --lanes 50 --per-run 500 --out file.json]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../lib/free-port.js';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import { installRuntime } from '../server/runtime.js';
import { workflowsPath } from '../workers/worker.js';
import { campaignStatus } from '../cli/control.js';
import { planOf } from '../workflows/campaign-plan.js';
import { campaignWorkflowId, progressQuery, WorkflowType } from '../workflows/names.js';
import type { CampaignActivities, CampaignInput, CampaignProgress } from '../workflows/campaign.js';
import type { AttemptResult, TrialActivities, TrialOutcome, TrialRow } from '../workflows/trial-types.js';
import type { VmSpec } from '../activities/qemu/vm-spec.js';
import { statePaths } from '../lib/paths.js';
import { processCpuS } from '../lib/process.js';

const { values: args } = parseArgs({
  options: { trials: { type: 'string', default: '100000' }, lanes: { type: 'string', default: '50' }, 'per-run': { type: 'string', default: '500' }, out: { type: 'string' } },
});
const TRIALS = Number(args.trials);
const LANES = Number(args.lanes);
const PER_RUN = Number(args['per-run']);

/** Trial activities that answer at once: a trial converges on its first attempt with QEMU-like figures. */
function stubActivities(rows: Map<string, TrialOutcome['kind']>): TrialActivities & CampaignActivities {
  const final = { status: 'completed', 'total-time': 1000, downtime: 50, 'setup-time': 5, ram: { transferred: 100 * 2 ** 20, remaining: 0, total: 256 * 2 ** 20, 'dirty-sync-count': 2, mbps: 900, 'dirty-pages-rate': 0 } };
  const done: AttemptResult = { status: 'completed', final, polls: 3 };
  return {
    async prepareVm() {},
    async waitForGuest() { return 1000; },
    async startWorkload() { return { writeMiBps: null }; },
    async measureDirtyRate() { return 0; },
    async startProbe() {},
    async stopProbe() { return null; },
    async liveMigrate() { return done; },
    async offlineMigrate() { return done; },
    async memoryCategories({ requestedMiB }) { return { configuredMiB: 256, allocatedOnHostMiB: null, usedInGuestMiB: null, requestedMiB, dirtiedMiB: null }; },
    async guestClock() { return { offsetMs: 0, rttMs: 1 }; },
    async workloadIntegrity() { return null; },
    async writeDiskWitness() { return ''; },
    async checkDiskWitness({ sha256 }) { return { sha256Before: sha256, sha256After: sha256, intact: true }; },
    async startService() { throw new Error('no services in this benchmark'); },
    async startAppLoad() {},
    async stopAppLoad() { return null; },
    async recordTrial({ trialId, row }: { trialId: string; row: TrialRow }) {
      if (rows.has(trialId)) return 'already-recorded';
      rows.set(trialId, row.outcome.kind);
      return 'recorded';
    },
    async teardown() {},
    async recordedTrials() { return [...rows].map(([id, outcome]) => ({ id, outcome })); },
    async recordedAmong({ ids }) { return ids.flatMap((id) => (rows.has(id) ? [{ id, outcome: rows.get(id)! }] : [])); },
    async recordedCounts() {
      const c = { converged: 0, offline: 0, failed: 0 };
      for (const o of rows.values()) c[o]++;
      return c;
    },
  };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'miglab-scale-'));
  const options: DevServerOptions = { ip: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default', dir };
  console.log(`campaign-scale: ${TRIALS} trials over ${LANES} lanes, ${PER_RUN} trials a run; dev server in ${dir}`);
  const server = await ensureDevServer(options);
  installRuntime();
  const address = `${options.ip}:${options.port}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address });
  const rows = new Map<string, TrialOutcome['kind']>();
  const taskQueue = 'scale';
  const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await bundleWorkflowCode({ workflowsPath: workflowsPath() }), activities: stubActivities(rows) });
  const name = 'scale';
  // never booted: the activities are stubs
  const spec: VmSpec = { name: 'vm', memoryMiB: 256, vcpus: 1, kernel: '/k', initrd: '/i', guestCidr: '198.18.200.2/24', mac: '52:54:00:00:00:01', migrationPort: 4444 };
  const input: CampaignInput = {
    campaign: name,
    lanes: Array.from({ length: LANES }, (_, i) => ({
      src: `pair${i}-a`,
      dst: `pair${i}-b`,
      template: { spec, migration: { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 }, ladder: [], fallback: 'none', probeIntervalMs: 10, bootTimeoutMs: 1000, measureGuest: false },
    })),
    plan: planOf({ campaign: name, scenarios: [{ name: 'baseline', kind: 'baseline' }], repetitions: TRIALS }),
    trialsPerRun: PER_RUN,
  };
  const inputBytes = Buffer.byteLength(JSON.stringify(input));
  const samples: { s: number; recorded: number; rssMiB: number; heapMiB: number; queryMs: number; statusMs: number }[] = [];
  // what bounds the rate on this machine: CPU seconds of the dev server and of this process (the
  // worker, the client and the bench) over the run, against the machine's cores
  const serverCpuS = () => (server.pid ? processCpuS(server.pid) : NaN);
  const cpu0 = { server: serverCpuS(), worker: process.cpuUsage() };
  const t0 = Date.now();
  let startMs = 0;
  let firstTrialMs = NaN;
  const out = args.out ?? join(statePaths().root, 'bench', `campaign-scale-${TRIALS}.json`);
  mkdirSync(dirname(out), { recursive: true });
  // A run of 100,000 trials takes hours: Ctrl-C (or SIGTERM) ends it early with what it measured
  // so far (the worker stops on the signal itself, the campaign is terminated, the summary written,
  // the server stopped), and the samples are written every minute in case the process dies outright.
  let interrupted = false;
  const interrupt = () => {
    console.log('campaign-scale: interrupted; ending the campaign and writing what was measured');
    interrupted = true;
  };
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  let lastWrite = Date.now();
  const result = await worker.runUntil(async () => {
    const handle = await client.workflow.start(WorkflowType.campaign, { taskQueue, workflowId: campaignWorkflowId(name), args: [input] });
    startMs = Date.now() - t0;
    let finished = false;
    const done = handle.result().finally(() => (finished = true)) as Promise<CampaignProgress>;
    while (!finished && !interrupted) {
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      if (finished) break;
      const q0 = Date.now();
      const p = await handle.query(progressQuery).catch(() => null);
      const q1 = Date.now();
      const st = await campaignStatus(client, name).catch(() => null);
      const statusMs = Date.now() - q1;
      if (Number.isNaN(firstTrialMs) && rows.size > 0) firstTrialMs = Date.now() - t0;
      const m = process.memoryUsage();
      const s = { s: (Date.now() - t0) / 1000, recorded: rows.size, rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20, queryMs: p ? q1 - q0 : NaN, statusMs: st ? statusMs : NaN };
      samples.push(s);
      if (Date.now() - lastWrite > 60_000) {
        writeFileSync(out, JSON.stringify({ partial: true, trials: TRIALS, lanes: LANES, perRun: PER_RUN, samples }) + '\n');
        lastWrite = Date.now();
      }
      console.log(`  ${s.s.toFixed(0)} s: ${s.recorded} recorded (${(s.recorded / s.s).toFixed(1)} trials/s), worker RSS ${s.rssMiB.toFixed(0)} MiB, heap ${s.heapMiB.toFixed(0)} MiB, progress query ${s.queryMs} ms, status ${s.statusMs} ms`);
    }
    return done;
  }).catch(async (err: Error) => {
    if (!interrupted) throw err;
    await client.workflow.getHandle(campaignWorkflowId(name)).terminate('campaign-scale interrupted');
    return null;
  });
  const wallS = (Date.now() - t0) / 1000;
  const workerCpu = process.cpuUsage(cpu0.worker);
  const cpuS = { server: serverCpuS() - cpu0.server, worker: (workerCpu.user + workerCpu.system) / 1e6, cores: availableParallelism() };
  // every run of the campaign: its history length and its input
  const runs: { events: number; inputBytes: number }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${campaignWorkflowId(name)}'` })) {
    const h = await client.workflow.getHandle(campaignWorkflowId(name), w.runId).fetchHistory();
    const started = h.events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!;
    runs.push({ events: h.events!.length, inputBytes: started.input!.payloads!.reduce((k, p) => k + (p.data?.length ?? 0), 0) });
  }
  await native.close();
  await connection.close();
  await stopDevServer(options);
  rmSync(dir, { recursive: true, force: true });

  const steady = samples.filter((s) => s.s > 30);
  const rate = steady.length > 1 ? (steady.at(-1)!.recorded - steady[0]!.recorded) / (steady.at(-1)!.s - steady[0]!.s) : rows.size / wallS;
  const summary = {
    trials: TRIALS, lanes: LANES, perRun: PER_RUN, interrupted,
    recorded: rows.size, outcome: result,
    wallS, startCallMs: startMs, firstTrialWithinS: firstTrialMs / 1000,
    trialsPerS: rate,
    cpuS,
    cpuMsPerTrial: { server: (cpuS.server * 1000) / Math.max(1, rows.size), worker: (cpuS.worker * 1000) / Math.max(1, rows.size) },
    clientInputBytes: inputBytes,
    runs: runs.length,
    historyEvents: { min: Math.min(...runs.map((r) => r.events)), median: quantile(runs.map((r) => r.events), 0.5), max: Math.max(...runs.map((r) => r.events)) },
    runInputBytes: { min: Math.min(...runs.map((r) => r.inputBytes)), max: Math.max(...runs.map((r) => r.inputBytes)) },
    workerRssMiB: { first: samples[0]?.rssMiB ?? NaN, max: Math.max(...samples.map((s) => s.rssMiB)), last: samples.at(-1)?.rssMiB ?? NaN },
    progressQueryMs: { median: quantile(samples.map((s) => s.queryMs).filter(Number.isFinite), 0.5), max: Math.max(...samples.map((s) => s.queryMs).filter(Number.isFinite)) },
    statusMs: { median: quantile(samples.map((s) => s.statusMs).filter(Number.isFinite), 0.5), max: Math.max(...samples.map((s) => s.statusMs).filter(Number.isFinite)) },
  };
  console.log(JSON.stringify(summary, null, 2));
  writeFileSync(out, JSON.stringify({ summary, samples }, null, 2) + '\n');
  console.log(`written ${out}`);
  if (rows.size !== TRIALS) {
    console.error(`campaign-scale: ${rows.size} of ${TRIALS} trials recorded`);
    process.exitCode = 1;
  }
}

await main();
