/**
 * Several controllers on a Temporal server run as a team runs one: the server from
 * go.temporal.io/server with PostgreSQL persistence and TLS (scripts/temporal-cluster.sh), a
 * campaign over two pairs of a four-host bed started with `miglab start`, served by two `miglab
 * worker` processes (controllers ctl-a and ctl-b, each serving both pairs). The controller running a
 * migration is SIGKILLed mid-transfer: the other takes the step over once its heartbeat times out,
 * follows the same migration to its end, and the campaign completes — every trial recorded once,
 * no VM left running or on two hosts — and `ls --trials --steps` names the controller of each step.
 * Both controllers are processes of this machine (they share its results folder, as controllers
 * of a lab share a mounted one).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCampaign } from '../campaign/builder.js';
import type { ListedTrial } from '../cli/control.js';
import { verifyCampaign } from '../cli/verify.js';
import { labDown, labUp } from '../lab/bed.js';
import type { TrialProvenance } from '../results/provenance.js';
import { ResultsStore } from '../results/store.js';
import type { CampaignProgress } from '../workflows/campaign.js';
import { campaignWorkflowId, trialWorkflowId } from '../workflows/names.js';
import type { TrialRow } from '../workflows/trial-types.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'miglab.js');
const BED = 'cluster';
const SUBNET = '198.18.13.0/24';
const dir = mkdtempSync(join(tmpdir(), 'miglab-cluster-'));
chmodSync(dir, 0o755); // PostgreSQL runs as its own user, who must reach its data folder below
const clusterEnv = { MIGLAB_CLUSTER_DIR: join(dir, 'cluster'), MIGLAB_CLUSTER_PORT: '17350', MIGLAB_CLUSTER_PG_PORT: '17360' };
const script = (verb: string) => run('bash', [join(ROOT, 'scripts', 'temporal-cluster.sh'), verb], { env: { ...process.env, ...clusterEnv }, maxBuffer: 1 << 24 });

// 16 MiB/s stretches an idle 256 MiB guest's migration to seconds: time to kill its controller in it.
const file = writeCampaign(dir, {
  campaign: 'failover',
  bed: BED,
  pairs: [['hosta', 'hostb'], ['hostc', 'hostd']],
  vm: { memoryMiB: 256 },
  scenarios: [{ name: 'baseline', kind: 'baseline' }],
  repetitions: 2, // a trial a pair
  migration: { bandwidthMiBps: 16, downtimeLimitMs: 300 },
  results: 'results',
});

/** The settings the script writes (TEMPORAL_ADDRESS, TLS …): what a user sources. */
function serverEnv(): Record<string, string> {
  const text = readFileSync(join(clusterEnv.MIGLAB_CLUSTER_DIR, 'env'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

interface Controller {
  name: string;
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

describe('two controllers on a PostgreSQL-backed Temporal server over TLS (bed)', () => {
  let env: NodeJS.ProcessEnv;
  let connection: Connection;
  let client: Client;
  const controllers: Controller[] = [];

  const worker = (name: string): Controller => {
    let out = '';
    // its own process group: SIGKILL takes it and everything it spawned, as a controller's crash would
    const child = spawn(process.execPath, [BIN, 'worker', file, '--bed-subnet', SUBNET, '--controller', name], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { name, child, out: () => out, exit };
  };

  beforeAll(async () => {
    // builds the server and its SQL tool on first use (cached under the state dir), then starts it
    await script('start');
    env = { ...process.env, ...serverEnv() };
    const tls = { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH!), serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME! };
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS!, tls });
    client = new Client({ connection, namespace: 'default' });
    await labDown(BED);
    await labUp({ bed: BED, subnet: SUBNET, hosts: ['hosta', 'hostb', 'hostc', 'hostd'] });
  }, 900_000);

  afterAll(async () => {
    for (const c of controllers) if (c.child.exitCode === null && c.child.signalCode === null) process.kill(-c.child.pid!, 'SIGKILL');
    await connection?.close();
    await labDown(BED);
    await script('stop');
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the server is the one built from go.temporal.io/server, over TLS only', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toMatch(/^1\.\d+\.\d+/);
    // the script prepared it; preparing again changes nothing
    const again = await run(process.execPath, [BIN, 'server', 'prepare', '--json'], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ namespace: 'default', namespaceCreated: false, searchAttributesAdded: [] });
    // a client without the CA is refused: the frontend speaks TLS, and only TLS
    await expect(Connection.connect({ address: env.TEMPORAL_ADDRESS!, connectTimeout: 3000 }).then((c) => c.workflowService.getSystemInfo({}))).rejects.toThrow();
  });

  it('a controller SIGKILLed mid-migration: the other follows the migration to its end; every trial recorded once, nothing left running; `ls --trials --steps` names the controllers', async () => {
    const started = await run(process.execPath, [BIN, 'start', file, '--bed-subnet', SUBNET, '--json'], { env });
    expect(JSON.parse(started.stdout)).toMatchObject({ started: true, pairQueues: ['miglab-failover@hosta-hostb', 'miglab-failover@hostc-hostd'] });
    controllers.push(worker('ctl-a'), worker('ctl-b'));

    // the first trial whose migration a controller has picked up: that controller is the victim
    let victim: { trial: string; identity: string } | undefined;
    const until = Date.now() + 300_000;
    while (!victim && Date.now() < until) {
      for (const trial of [1, 2].map((r) => `failover/baseline/idle/r${r}`)) {
        const d = await client.workflow.getHandle(trialWorkflowId(trial)).describe().catch(() => undefined);
        const a = d?.raw.pendingActivities?.find((p) => p.activityType?.name === 'liveMigrate' && p.lastStartedTime && p.lastWorkerIdentity);
        if (a) victim = { trial, identity: a.lastWorkerIdentity! };
      }
      if (!victim) await new Promise((r) => setTimeout(r, 200));
    }
    expect(victim, controllers.map((c) => c.out()).join('\n')).toBeDefined();
    const killed = controllers.find((c) => victim!.identity.startsWith(`${c.name}:`))!;
    const survivor = controllers.find((c) => c !== killed)!;
    await new Promise((r) => setTimeout(r, 1000)); // well into the transfer
    process.kill(-killed.child.pid!, 'SIGKILL');
    expect(await killed.exit).toBeNull(); // killed, not exited

    const progress = (await client.workflow.getHandle(campaignWorkflowId('failover')).result()) as CampaignProgress;
    expect(progress, survivor.out()).toMatchObject({ total: 2, recorded: 2, outcomes: { failed: 0 } });

    // One live attempt, converged: the step retried on the survivor followed QEMU's migration.
    const rows = await new ResultsStore(join(dir, 'results')).readTrials<TrialRow>();
    const row = rows.find((r) => r.trialId === victim!.trial)!.row;
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect(row.attempts).toHaveLength(1);
    // each row says which controller recorded it: the killed trial's, the survivor
    for (const r of rows) expect((r.row as TrialRow & { provenance: TrialProvenance }).provenance.recordedBy, r.trialId).toMatch(/^ctl-[ab]:\d+$/);
    expect((row as TrialRow & { provenance: TrialProvenance }).provenance.recordedBy!.startsWith(`${survivor.name}:`)).toBe(true);
    const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 2, recorded: 2, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });

    // Which controller ran each step, as a user asks it.
    const ls = await run(process.execPath, [BIN, 'ls', '--trials', '--campaign', 'failover', '--steps', '--json'], { env });
    const trials = JSON.parse(ls.stdout) as ListedTrial[];
    expect(trials.map((t) => t.workflowId)).toHaveLength(2);
    for (const t of trials) for (const s of t.steps!) expect(s.controller, `${t.workflowId} ${s.step}`).toMatch(/^ctl-[ab]:\d+$/);
    const migrate = trials.find((t) => t.workflowId === trialWorkflowId(victim!.trial))!.steps!.find((s) => s.step === 'liveMigrate')!;
    expect(migrate.attempt).toBeGreaterThanOrEqual(2); // the killed controller's attempt timed out
    expect(migrate.controller!.startsWith(`${survivor.name}:`)).toBe(true);
    const text = await run(process.execPath, [BIN, 'ls', '--trials', '--campaign', 'failover', '--steps'], { env });
    expect(text.stdout).toMatch(new RegExp(`liveMigrate +attempt ${migrate.attempt} +${survivor.name}:\\d+`));

    // The survivor stops as a worker is meant to: on a signal, exit 0.
    process.kill(-survivor.child.pid!, 'SIGTERM');
    expect(await survivor.exit, survivor.out()).toBe(0);
  }, 600_000);
});
