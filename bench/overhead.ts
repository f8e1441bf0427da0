/**
 * Benchmark (not a test): what miglab's orchestration costs against the paper's method. The same
 * N baseline trials (start the VM, wait for it, live-migrate it at the paper's cap and downtime
 * limit with a 10 ms ping running, stop it) run by a bare shell loop (bare-loop.ts) and by
 * `miglab run` twice: keeping to the paper's steps (`measure: { guest: false }`, as the loop does)
 * and with its guest measurements; on the same bed in one run, each going first in turn. Reports
 * the wall-time ratios, and from the trials' Temporal histories where miglab's extra time goes:
 * the host steps both do, the measurements only miglab makes, workflow scheduling, the campaign
 * between trials, and the process itself (start-up, worker bundle, shut-down).
 * Usage: npm run bench:overhead [-- --trials 10 --rounds 2]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { labUp } from '../lab/bed.js';
import { campaignYaml as buildCampaignYaml } from '../campaign/builder.js';
import { labVmSpec } from '../lab/guest.js';
import { statePaths } from '../lib/paths.js';
import { run } from '../lib/exec.js';
import { parseQemuVersion } from '../activities/qemu/vm-spec.js';
import { connectTemporal } from '../server/connection.js';
import { campaignWorkflowId, trialId, trialWorkflowId } from '../workflows/names.js';
import { bareLoopScript, parseBareLoop, type BareTrial } from './bare-loop.js';

const { values: args } = parseArgs({ options: { trials: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } } });
const TRIALS = Number(args.trials);
const ROUNDS = Number(args.rounds);
const MiB = 2 ** 20;
const BANDWIDTH_MIBPS = 112;
const DOWNTIME_LIMIT_MS = 300;
const PROBE_MS = 10;
const miglabBin = fileURLToPath(new URL('../../bin/miglab.js', import.meta.url));

/** Steps the bare loop does too; every other activity is a measurement only miglab makes. */
const HOST_STEPS = new Set(['prepareVm', 'waitForGuest', 'startProbe', 'liveMigrate', 'offlineMigrate', 'stopProbe', 'teardown']);

interface TrialCost {
  wallMs: number;
  hostStepsMs: number;
  measurementsMs: number;
  /** time in the trial not inside any activity: workflow tasks and activity dispatch */
  schedulingMs: number;
  /** scheduled → started, summed: how long steps waited for the worker */
  queueMs: number;
  migrateMs: number;
  bootMs: number;
}

interface MiglabRound {
  commandMs: number;
  campaignMs: number;
  trials: TrialCost[];
}

type Ts = { seconds?: { toNumber(): number } | number | string | null; nanos?: number | null } | null | undefined;
const ms = (t: Ts): number => (t ? Number(typeof t.seconds === 'object' && t.seconds !== null ? t.seconds.toNumber() : (t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

async function trialCost(client: Client, workflowId: string): Promise<TrialCost> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Map<string, { type: string; at: number }>();
  const cost: TrialCost = { wallMs: ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime), hostStepsMs: 0, measurementsMs: 0, schedulingMs: 0, queueMs: 0, migrateMs: 0, bootMs: 0 };
  const all: [number, number][] = [];
  const host: [number, number][] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: ms(e.eventTime) });
    const started = e.activityTaskStartedEventAttributes;
    if (started) cost.queueMs += ms(e.eventTime) - scheduled.get(String(started.scheduledEventId))!.at;
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const s = scheduled.get(String(closed.scheduledEventId))!;
      const span: [number, number] = [s.at, ms(e.eventTime)];
      all.push(span);
      if (HOST_STEPS.has(s.type)) host.push(span);
      if (s.type === 'liveMigrate') cost.migrateMs += span[1] - span[0];
      if (s.type === 'waitForGuest' || s.type === 'prepareVm') cost.bootMs += span[1] - span[0];
    }
  }
  // Steps run side by side: what each kind adds is the time it covers, not the sum of its steps.
  cost.hostStepsMs = covered(host);
  cost.measurementsMs = covered(all) - cost.hostStepsMs;
  cost.schedulingMs = cost.wallMs - covered(all);
  return cost;
}

/** The length of the union of intervals. */
function covered(spans: readonly [number, number][]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

function campaignYaml(name: string, guest: boolean): string {
  return buildCampaignYaml({
    campaign: name, bed: 'lab', hypervisor: 'qemu', vm: { memoryMiB: 256, vcpus: 1 },
    scenarios: [{ name: 'baseline', kind: 'baseline' }],
    repetitions: TRIALS,
    migration: { bandwidthMiBps: BANDWIDTH_MIBPS, downtimeLimitMs: DOWNTIME_LIMIT_MS, completionTimeoutSPerGiB: 800, stall: { iterations: 10 } },
    fallback: 'offline', probe: { intervalMs: PROBE_MS }, measure: { guest }, results: 'results',
  }, `written by bench/overhead.ts: ${TRIALS} baseline trials, the paper's settings${guest ? '' : ", only the paper's measurements"}`);
}

/** Runs a command with its output in a log file; resolves to its wall time, rejects on failure. */
function timed(file: string, argv: string[], log: string, opts: { capture?: boolean } = {}): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(log);
    const t0 = performance.now();
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out.write(d);
      if (opts.capture) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => out.write(d));
    child.on('close', (code) => {
      const elapsed = performance.now() - t0;
      out.end();
      if (code === 0) resolve({ ms: elapsed, stdout });
      else reject(new Error(`${file} ${argv.join(' ')} exited ${code}; see ${log}`));
    });
  });
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f0 = (x: number) => x.toFixed(0);

async function main() {
  if (!(TRIALS >= 1 && ROUNDS >= 1)) throw new Error('--trials and --rounds must be positive numbers');
  const log = (l: string) => console.error(l);
  const stamp = Date.now().toString(36);
  const root = join(statePaths().root, 'bench', 'overhead', stamp);
  mkdirSync(root, { recursive: true });
  const bed = await labUp({}, (l) => log(`  ${l}`));
  const version = parseQemuVersion((await run('qemu-system-x86_64', ['--version'])).stdout);
  const session = await connectTemporal(undefined, log); // the server is running before anything is timed
  // miglab twice: keeping to the paper's own steps (as the loop does), and with its guest measurements
  const variants = { paper: { guest: false, label: "miglab, the paper's steps" }, full: { guest: true, label: 'miglab, with guest measurements' } } as const;
  type Variant = keyof typeof variants;
  const miglab: Record<Variant, MiglabRound[]> = { paper: [], full: [] };
  const bare: { ms: number; trials: BareTrial[] }[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const dir = join(root, `round-${round}`);
      mkdirSync(join(dir, 'bare'), { recursive: true });
      // each goes first, second and last in turn
      const turns = ['paper', 'bare', 'full'] as const;
      const order = turns.map((_, i) => turns[(i + round - 1) % turns.length]!);
      for (const who of order) {
        if (who !== 'bare') {
          const name = `ovh-${stamp}-${round}-${who}`;
          const file = join(dir, `campaign-${who}.yaml`);
          writeFileSync(file, campaignYaml(name, variants[who].guest));
          log(`round ${round}: ${variants[who].label}: miglab run (${TRIALS} trials, campaign ${name})`);
          const { ms: commandMs } = await timed(process.execPath, [miglabBin, 'run', file], join(dir, `miglab-${who}.log`));
          const d = await session.client.workflow.getHandle(campaignWorkflowId(name)).describe();
          const campaignMs = (d.closeTime?.getTime() ?? NaN) - d.startTime.getTime();
          const trials: TrialCost[] = [];
          for (let r = 1; r <= TRIALS; r++) trials.push(await trialCost(session.client, trialWorkflowId(trialId({ campaign: name, scenario: 'baseline', workingSetMiB: null, repetition: r }))));
          miglab[who].push({ commandMs, campaignMs, trials });
          log(`  ${f0(commandMs)} ms (campaign workflow ${f0(campaignMs)} ms)`);
        } else {
          const script = join(dir, 'bare.sh');
          writeFileSync(script, bareLoopScript({
            bed, spec: labVmSpec(bed, 0, { name: 'bare0', memoryMiB: 256, vcpus: 1 }), src: bed.hosts[0]!.name, dst: bed.hosts[1]!.name,
            trials: TRIALS, maxBandwidth: BANDWIDTH_MIBPS * MiB, downtimeLimitMs: DOWNTIME_LIMIT_MS, probeIntervalMs: PROBE_MS, qemuVersion: version, outDir: join(dir, 'bare'),
          }), { mode: 0o755 });
          log(`round ${round}: bare shell loop (${TRIALS} trials)`);
          const r = await timed('bash', [script], join(dir, 'bare.log'), { capture: true });
          const trials = parseBareLoop(r.stdout);
          if (trials.length !== TRIALS) throw new Error(`the bare loop reported ${trials.length} of ${TRIALS} trials; see ${join(dir, 'bare.log')}`);
          bare.push({ ms: r.ms, trials });
          log(`  ${f0(r.ms)} ms`);
        }
      }
    }
  } finally {
    await session.close();
  }

  const b = bare.flatMap((r) => r.trials);
  const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
  const sh = sum(bare.map((r) => r.ms));
  const s1 = (x: number) => (x / 1000).toFixed(1);
  const totals = (v: Variant) => ({ cmd: sum(miglab[v].map((r) => r.commandMs)), wf: sum(miglab[v].map((r) => r.campaignMs)), m: miglab[v].flatMap((r) => r.trials) });
  const P = totals('paper'), F = totals('full');
  const perTrial = (label: string, loop: string, f: (t: TrialCost) => number) => `| ${label} | ${loop} | ${f0(mean(P.m.map(f)))} | ${f0(mean(F.m.map(f)))} |`;
  const lines = [
    `Orchestration overhead: ${ROUNDS} rounds × ${TRIALS} baseline trials each way on bed ${bed.plan.bed}, ${BANDWIDTH_MIBPS} MiB/s, ${DOWNTIME_LIMIT_MS} ms limit, ${PROBE_MS} ms ping (${root})`,
    '',
    "| round | bare shell loop s | miglab run, paper's steps s | (workflow s) | miglab run, with guest measurements s | (workflow s) |",
    '|---:|---:|---:|---:|---:|---:|',
    ...bare.map((r, i) => `| ${i + 1} | ${s1(r.ms)} | ${s1(miglab.paper[i]!.commandMs)} | ${s1(miglab.paper[i]!.campaignMs)} | ${s1(miglab.full[i]!.commandMs)} | ${s1(miglab.full[i]!.campaignMs)} |`),
    `| all | ${s1(sh)} | ${s1(P.cmd)} | ${s1(P.wf)} | ${s1(F.cmd)} | ${s1(F.wf)} |`,
    `| **ratio to the loop** | 1 | **${(P.cmd / sh).toFixed(3)}** | ${(P.wf / sh).toFixed(3)} | **${(F.cmd / sh).toFixed(3)}** | ${(F.wf / sh).toFixed(3)} |`,
    '',
    'Per trial, mean ms:',
    '',
    "| | bare loop | miglab, paper's steps | miglab, with guest measurements |",
    '|:---|---:|---:|---:|',
    perTrial('whole trial', f0(mean(b.map((t) => t.totalMs))), (t) => t.wallMs),
    perTrial('VM start + boot until ping', f0(mean(b.map((t) => t.bootMs))), (t) => t.bootMs),
    perTrial("live migration (controller's view)", f0(mean(b.map((t) => t.migrateMs))), (t) => t.migrateMs),
    `| QEMU total-time / downtime | ${f0(mean(b.map((t) => t.qemuTotalMs)))} / ${f0(mean(b.map((t) => t.qemuDowntimeMs)))} | (in the rows) | (in the rows) |`,
    perTrial('host steps both do (start, wait, probe, migrate, stop), time covered', '–', (t) => t.hostStepsMs),
    perTrial('other steps (memory, guest clock ×2, record), time they add', '–', (t) => t.measurementsMs),
    perTrial('workflow scheduling (outside any step)', '–', (t) => t.schedulingMs),
    perTrial('of which steps waited for the worker (summed)', '–', (t) => t.queueMs),
    `| campaign between trials | – | ${f0((P.wf - sum(P.m.map((t) => t.wallMs))) / P.m.length)} | ${f0((F.wf - sum(F.m.map((t) => t.wallMs))) / F.m.length)} |`,
    `| process start-up and shut-down per run (bed check, worker) | – | ${f0((P.cmd - P.wf) / ROUNDS)} | ${f0((F.cmd - F.wf) / ROUNDS)} |`,
  ];
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
