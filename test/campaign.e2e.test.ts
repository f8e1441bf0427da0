/** `miglab run` on a two-trial campaign on the bed: every trial recorded once, and a rerun repeats none. */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeReport } from '../analysis/report.js';
import { loadCampaignResults } from '../analysis/load.js';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCampaign } from '../campaign/builder.js';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareCampaign, runCampaign, type TrialStep } from '../cli/run.js';
import { Client, Connection } from '@temporalio/client';
import { ResultsStore } from '../results/store.js';
import { verifyCampaign, verifyProblems } from '../cli/verify.js';
import { QemuBackend } from '../activities/qemu/backend.js';
import { SshPool } from '../activities/ssh/pool.js';
import { labVmSpec } from '../lab/guest.js';
import { reservedPorts } from '../lab/netns.js';
import type { HostsCheckReport } from '../cli/hosts-check.js';
import { readInventory } from '../lab/bed.js';
import { rm } from 'node:fs/promises';
import { labDown } from '../lab/bed.js';
import { stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import type { CampaignProgress } from '../workflows/campaign.js';
import type { CampaignManifest } from '../results/manifest.js';
import { campaignTaskQueue, campaignWorkflowId, WorkflowType } from '../workflows/names.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-campaign-e2e-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17273, uiPort: 18273, namespace: 'default', dir: join(dir, 'temporal') };
const file = writeCampaign(dir, {
  campaign: 'tiny', bed: 'camp', vm: { memoryMiB: 256 },
  scenarios: [{ name: 'baseline', kind: 'baseline' }, { name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [8] }],
  repetitions: 1,
  migration: { bandwidthMiBps: 112, downtimeLimitMs: 300 },
  results: 'results',
});

describe('miglab run on the bed', () => {
  afterAll(async () => {
    await labDown('camp');
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  const steps: TrialStep[] = [];
  const said: string[] = [];
  const run = (seen: CampaignProgress[]) =>
    runCampaign({ file, log: (l) => said.push(l), progress: (p, _s, now) => (seen.push(p), steps.push(...now)), temporal: { kind: 'embedded', options: server }, bedSubnet: '198.18.8.0/24' });

  it('runs every trial once, records each, and reports progress as it goes', async () => {
    const seen: CampaignProgress[] = [];
    const r = await run(seen);
    expect(r.resultsDir).toBe(join(dir, 'results'));
    expect(r.progress).toMatchObject({ total: 2, recorded: 2 });
    expect(r.rows.map((x) => x.trialId).sort()).toEqual(['tiny/baseline/idle/r1', 'tiny/ramp/8MiB/r1']);
    const baseline = r.rows.find((x) => x.trialId === 'tiny/baseline/idle/r1')!;
    expect(baseline.outcome.kind).toBe('converged');
    expect(baseline.metrics!.tmtMs).toBeGreaterThan(0);
    // 8 MiB is far below the cliff (112 MiB/s × 300 ms): default precopy moves it, and whole
    const ramp = r.rows.find((x) => x.trialId === 'tiny/ramp/8MiB/r1')!;
    expect(ramp.workingSetMiB).toBe(8);
    expect(ramp.memory?.requestedMiB).toBe(8);
    expect(ramp.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect(ramp.metrics!.tmtMs).toBeGreaterThan(0);
    expect(ramp.integrity).toMatchObject({ staleWrites: 0, fullPass: true });
    // vm.accel auto: each host's accelerator said before the first trial, with why — KVM where the
    // probe's guest ran, TCG where it did not (here: /dev/kvm exists but KVM refuses qemu64)
    const accel = (host: string) => {
      const line = said.find((l) => l.startsWith(`  ${host}: guests run under `));
      expect(line, said.join('\n')).toMatch(/under (KVM, CPU model qemu64 — KVM works \(the probe's guest ran in [\d.]+ s\)|TCG, CPU model qemu64 — KVM does not work with CPU model qemu64 \(.+\): TCG instead)$/);
      return line!.includes('under KVM') ? 'kvm' : 'tcg';
    };
    const used = { hosta: accel('hosta'), hostb: accel('hostb') };
    // every row and the manifest say where they came from
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    for (const row of r.rows) {
      expect(row.provenance).toMatchObject({ miglab: { version: pkg.version }, campaignFileSha256: sha });
      for (const h of [row.provenance!.src!, row.provenance!.dst!]) {
        expect(h).toMatchObject({ hypervisor: 'qemu', accelerator: used[h.host as 'hosta' | 'hostb'], guestCpu: 'qemu64' });
        expect(h.hypervisorVersion).toMatch(/^QEMU emulator version \d+\.\d+/);
        expect(h.kernel).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()); // the bed's hosts share this kernel
      }
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'results', 'campaign.json'), 'utf8')) as CampaignManifest;
    expect(manifest.provenance).toMatchObject({ miglab: { version: pkg.version }, campaignFile: { path: file, sha256: sha } });
    expect(manifest.provenance!.hosts.map((h) => h.host)).toEqual(['hosta', 'hostb']);
    expect(manifest.provenance!.guestImage.kernel?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(manifest.provenance!.endedAt!)).toBeGreaterThan(Date.parse(manifest.provenance!.startedAt));
    expect(r.progress.outcomes.converged + r.progress.outcomes.offline + r.progress.outcomes.failed).toBe(2);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((p) => p.runningNow.length > 0)).toBe(true);
    // the progress line names each running trial's step (the guest boots for seconds: always seen)
    expect(steps.some((st) => st.step === 'waitForGuest')).toBe(true);
    for (const st of steps.filter((x) => x.step === 'liveMigrate' && x.remaining !== null)) expect(st.remaining!).toBeGreaterThanOrEqual(0);
  }, 300_000);

  it('vm.accel: kvm is refused before anything starts where KVM does not work, within 15 s, with the reason (and taken where it does)', async () => {
    const kvmFile = writeCampaign(dir, {
      campaign: 'tinykvm', bed: 'camp', vm: { memoryMiB: 256, accel: 'kvm' },
      scenarios: [{ name: 'baseline', kind: 'baseline' }],
      migration: { bandwidthMiBps: 112, downtimeLimitMs: 300 },
      results: 'results-kvm',
    });
    const kvmWorks = said.some((l) => /^  hosta: guests run under KVM/.test(l));
    const started = Date.now();
    const prepared = prepareCampaign({ file: kvmFile, bedSubnet: '198.18.8.0/24', log: () => undefined });
    if (kvmWorks) {
      const pool = new SshPool();
      try {
        expect(await (await (await prepared).backend(pool)).describeHost('hosta')).toMatchObject({ accelerator: 'kvm' });
      } finally {
        await pool.closeAll();
      }
    } else {
      await expect(prepared).rejects.toThrow(/the hosts cannot run guests as vm\.accel: kvm, vm\.cpu: qemu64 asks, nothing was started:\n  hosta: KVM does not work with CPU model qemu64: .+\n  hostb: KVM does not work/);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  }, 60_000);

  it("miglab hosts check on the bed's hosts listed as a user's own: each host's SSH, QEMU, accelerator and memory, the pair's shared storage; a problem exits 1 with its fix", async () => {
    const inv = await readInventory('camp');
    const ownHosts = (name: string, vm: Record<string, unknown>, bridge?: string) =>
      writeCampaign(dir, {
        campaign: name,
        hosts: inv.hosts.map((h) => ({ name: h.name, address: h.ip, key: inv.privateKey, knownHosts: inv.knownHosts, bridge: bridge ?? h.bridge, runDir: h.runDir })),
        vm: { memoryMiB: 256, guest: { kernel: inv.guest.kernel, initrd: inv.guest.initrd, addresses: [labVmSpec(inv, 0, { name: 'x', memoryMiB: 256 }).guestCidr], key: inv.privateKey, knownHosts: inv.knownHosts }, ...vm },
        scenarios: [{ name: 'baseline', kind: 'baseline' }],
        migration: { bandwidthMiBps: 112, downtimeLimitMs: 300 },
        results: `results-${name}`,
      });
    const check = (f: string) => {
      try {
        return { code: 0, out: execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'miglab.js'), 'hosts', 'check', f, '--json'], { encoding: 'utf8' }) };
      } catch (err) {
        return { code: (err as { status: number }).status, out: String((err as { stdout: string }).stdout) };
      }
    };
    const good = check(ownHosts('own', {}));
    expect(good.code, good.out).toBe(0);
    const r = JSON.parse(good.out) as HostsCheckReport;
    expect(r.problems).toBe(0);
    for (const h of r.hosts) {
      expect(h).toMatchObject({ reachable: true, hypervisorVersion: expect.stringMatching(/^QEMU emulator version \d+\.\d+/), problems: [] });
      expect(h.memAvailableMiB).toBeGreaterThan(256);
      // the accelerator the run said for this host (vm.accel auto)
      expect(h.accelerator).toMatchObject({ accel: said.some((l) => l.startsWith(`  ${h.host}: guests run under KVM`)) ? 'kvm' : 'tcg', cpu: 'qemu64' });
    }
    expect(r.pairs).toEqual([{ src: 'hosta', dst: 'hostb', cpuFlagsOnlySrc: [], cpuFlagsOnlyDst: [], sharedStorage: true, problems: [] }]); // one machine, one filesystem

    // a bridge that is not there, KVM asked for where it does not work (if it does not), and a
    // destination whose outgoing connections may take the pair's migration port
    const hostb = inv.hosts.find((h) => h.name === 'hostb')!;
    const reserve = (ports: string) => execFileSync('ip', ['netns', 'exec', hostb.netns, 'sysctl', '-qw', `net.ipv4.ip_local_reserved_ports=${ports}`]);
    reserve('');
    let bad: ReturnType<typeof check>;
    try {
      bad = check(ownHosts('ownbad', { accel: 'kvm' }, 'nosuchbr0'));
    } finally {
      reserve(reservedPorts());
    }
    expect(bad.code, bad.out).toBe(1);
    const b = JSON.parse(bad.out) as HostsCheckReport;
    const port = labVmSpec(inv, 0, { name: 'x' }).migrationPort;
    expect(b.pairs[0]!.problems).toEqual([{ what: expect.stringMatching(new RegExp(`^hostb may give port ${port} \\(where the pair's VM arrives\\) to an outgoing connection: it is in its ephemeral range \\(\\d+-\\d+\\) and not reserved`)), fix: `on hostb: sysctl -w net.ipv4.ip_local_reserved_ports=${port} (and the same in /etc/sysctl.d/ to keep it)` }]);
    const kvmWorks = r.hosts.every((h) => h.accelerator?.accel === 'kvm');
    for (const h of b.hosts) {
      expect(h.problems).toContainEqual({ what: 'missing: bridge nosuchbr0', fix: "create the bridge the guest's NIC joins, or set hosts[].bridge" });
      if (!kvmWorks) expect(h.problems).toContainEqual({ what: expect.stringMatching(/^KVM does not work with CPU model qemu64: /), fix: expect.stringMatching(/^make KVM work here/) });
    }
    expect(b.problems).toBe(kvmWorks ? 3 : 5);
  }, 60_000);

  it('a rerun finds every trial recorded and runs none again', async () => {
    const seen: CampaignProgress[] = [];
    const r = await run(seen);
    expect(r.progress).toMatchObject({ total: 2, recorded: 2 });
    expect(r.rows).toHaveLength(2);
    expect(seen.every((p) => p.runningNow.length === 0)).toBe(true);
  }, 120_000);

  it('verify: 0 lost, 0 duplicated, 0 orphans, 0 split brain after the run; then finds each fault it is shown', async () => {
    const clean = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
    expect(clean).toMatchObject({ campaign: 'tiny', expected: 2, recorded: 2, lost: [], duplicated: [], halfWritten: [], orphans: [], splitBrain: [] });
    // Faults made by hand: the same VM running on both hosts, and a row gone.
    const inv = await readInventory('camp');
    const pool = new SshPool();
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    const spec = labVmSpec(inv, 3, { name: 'stray', memoryMiB: 128 });
    try {
      await backend.startVm('hosta', { ...spec, owner: 'tiny/ramp/8MiB/r1' });
      await backend.startVm('hostb', spec);
      await rm(join(dir, 'results', 'trials', encodeURIComponent('tiny/ramp/8MiB/r1') + '.json'));
      const bad = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
      expect(bad.lost).toEqual(['tiny/ramp/8MiB/r1']);
      expect(bad.splitBrain).toEqual([{ vm: 'stray', hosts: ['hosta', 'hostb'] }]);
      expect(bad.orphans).toEqual([
        { host: 'hosta', vm: 'stray', state: 'running', owner: 'tiny/ramp/8MiB/r1' },
        { host: 'hostb', vm: 'stray', state: 'running', owner: null },
      ]);
      expect(verifyProblems(bad)).toBe(4);
      // while the campaign runs, its VMs and unrecorded trials are work in progress
      expect(await verifyCampaign({ file, campaign: { state: 'RUNNING' } })).toMatchObject({ lost: [], pending: ['tiny/ramp/8MiB/r1'], orphans: [] });
      // a cancelled campaign's trial without a row was not run: not lost
      const cancelled = await verifyCampaign({ file, campaign: { state: 'CANCELLED' } });
      expect(cancelled).toMatchObject({ lost: [], notRun: ['tiny/ramp/8MiB/r1'] });
      expect(verifyProblems(cancelled)).toBe(3); // the orphans and the split brain remain
      // a VM whose QMP socket another client holds (as a running trial's step does): said, not a crash
      await backend.withQmp('hosta', 'stray', async () => {
        const busy = await verifyCampaign({ file, campaign: { state: 'RUNNING' } });
        expect(busy.notChecked).toEqual([{ what: 'the state of stray on hosta (so split brain for it)', why: expect.stringMatching(/QMP socket is held by another client/) }]);
        expect(busy.splitBrain).toEqual([]);
      });
    } finally {
      await backend.stopVm('hosta', 'stray');
      await backend.stopVm('hostb', 'stray');
      await pool.closeAll();
    }
  }, 120_000);

  it('miglab worker serves a campaign started without one: its trial runs on the campaign\'s own task queue and is recorded; SIGINT stops the worker', async () => {
    const file2 = join(dir, 'tiny2.yaml');
    writeCampaign(dir, { campaign: 'tiny2', bed: 'camp', vm: { memoryMiB: 256 }, scenarios: [{ name: 'baseline', kind: 'baseline' }], migration: { bandwidthMiBps: 112 }, results: 'results2' });
    const env = { ...process.env, MIGLAB_TEMPORAL_PORT: String(server.port), MIGLAB_TEMPORAL_UI_PORT: String(server.uiPort), MIGLAB_TEMPORAL_DIR: server.dir };
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'miglab.js'), 'worker', file2, '--bed-subnet', '198.18.8.0/24'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    try {
      for (let i = 0; i < 600 && !out.includes('for campaign tiny2'); i++) await new Promise((r) => setTimeout(r, 100));
      // the worker names itself: the controller (the host's name by default) and its process
      expect(out).toMatch(new RegExp(`worker ${hostname()}:${child.pid} for campaign tiny2 on task queue miglab-tiny2`));
      // start it with a plain client: no worker in this process
      const { input } = await prepareCampaign({ file: file2, log: () => undefined, bedSubnet: '198.18.8.0/24' });
      const conn = await Connection.connect({ address: `${server.ip}:${server.port}` });
      try {
        const client = new Client({ connection: conn });
        const p = (await client.workflow.execute(WorkflowType.campaign, { taskQueue: campaignTaskQueue('tiny2'), workflowId: campaignWorkflowId('tiny2'), args: [input] })) as CampaignProgress;
        expect(p).toMatchObject({ total: 1, recorded: 1, outcomes: { converged: 1, offline: 0, failed: 0 } });
      } finally {
        await conn.close();
      }
      expect((await new ResultsStore(join(dir, 'results2')).readTrials()).map((r) => r.trialId)).toEqual(['tiny2/baseline/idle/r1']);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, out).toBe(0);
    expect(out).toContain('worker stopped');
  }, 240_000);

  it('miglab advise --verify runs the advised setting as a small campaign beside the file and checks it against the bound', async () => {
    const env = { ...process.env, MIGLAB_TEMPORAL_PORT: String(server.port), MIGLAB_TEMPORAL_UI_PORT: String(server.uiPort), MIGLAB_TEMPORAL_DIR: server.dir };
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'miglab.js'), 'advise', file, '--working-set', '8', '--max-downtime', '2000', '--verify', '1', '--bed-subnet', '198.18.8.0/24', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    // exit 0 when the trial met the bound by the hypervisor's downtime, 1 when not: either is a verdict
    expect([0, 1], err).toContain(code);
    const r = JSON.parse(out) as { advice: { candidates: { meets: boolean; setting: { bandwidthMiBps: number; downtimeLimitMs: number } }[]; inputs: { guestBaseMiB: { source: string } } }; verify: { file: string; trials: { trialId: string; outcome: string; dtHypervisorMs: number | null }[]; metByHypervisorDt: number } };
    // the model took its inputs from the trials this file's campaign recorded above
    expect(r.advice.inputs.guestBaseMiB.source).toMatch(/^measured/);
    expect(r.verify.file).toBe(join(dir, 'tiny-advice.yaml'));
    // on failure, the run's own log says which step failed and why
    expect(r.verify.trials.map((t) => [t.trialId, t.outcome]), err.slice(-3000)).toEqual([['tiny-advice/advised/8MiB/r1', 'converged']]);
    expect(r.verify.metByHypervisorDt).toBe(code === 0 ? 1 : 0);
    expect(r.verify.metByHypervisorDt).toBe(r.verify.trials[0]!.dtHypervisorMs! <= 2000 ? 1 : 0);
    expect((await new ResultsStore(join(dir, 'tiny-advice')).readTrials()).map((x) => x.trialId)).toEqual(['tiny-advice/advised/8MiB/r1']);
  }, 240_000);

  it("a level the hosts' QEMU cannot honour is refused at its place in the file before anything starts (Debian's QEMU 7.2 takes only power-of-two XBZRLE caches)", async () => {
    const bad = writeCampaign(dir, {
      campaign: 'factbad', bed: 'camp', vm: { memoryMiB: 256 },
      scenarios: [{ name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [8] }],
      factors: { xbzrle: ['off', 48] },
      migration: { bandwidthMiBps: 112 },
      results: 'results-factbad',
    });
    const err = await runCampaign({ file: bad, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: '198.18.8.0/24' }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/factbad\.yaml:\d+:\d+: factors\.xbzrle\[1\]: host host[ab]'s QEMU cannot migrate with xb48: Parameter 'xbzrle_cache_size' expects a power of two/);
    expect(err?.message).toContain('nothing was started');
    expect(existsSync(join(dir, 'results-factbad', 'campaign.json'))).toBe(false);
  }, 120_000);

  it('a campaign of listed combinations: each trial migrates with its levels, and QEMU\'s counters show them at work (XBZRLE cache lookups, multifd bytes, post-copy from the start, the guest paused after a pass); the report has its factor section', async () => {
    const f = writeCampaign(dir, {
      campaign: 'fact', bed: 'camp', vm: { memoryMiB: 256 },
      scenarios: [{ name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [16] }],
      combinations: [{}, { xbzrle: 32 }, { multifd: { channels: 2 } }, { postcopy: { afterPasses: 0, bandwidthMiBps: 64 } }, { pause: { afterPasses: 1 }, downtimeLimitMs: 10 }],
      migration: { bandwidthMiBps: 112 },
      results: 'results-fact',
    });
    const r = await runCampaign({ file: f, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: '198.18.8.0/24' });
    const byLevels = new Map(r.rows.map((x) => [x.trialId.split('/')[3], x]));
    // what each trial did, in every assertion's message: a failure names the trial's attempts
    const did = r.rows.map((x) => `${x.trialId}: ${JSON.stringify(x.outcome)}; ${x.attempts.map((a) => (a.result.status === 'completed' ? `completed (${JSON.stringify({ ...a.result.final, ram: undefined })})` : `${a.result.status}: ${'reason' in a.result ? a.result.reason : 'error' in a.result ? a.result.error : ''}`)).join('; ')}`).join('\n');
    console.log(`[combinations]\n${did}`);
    expect([...byLevels.keys()].sort(), did).toEqual(['base', 'dl10_pause1', 'mfd2', 'pc0-bw64', 'xb32']);
    const final = (id: string) => {
      const row = byLevels.get(id)!;
      expect(row.outcome, id).toMatchObject({ kind: 'converged' });
      const a = row.attempts.find((x) => x.result.status === 'completed')!.result as unknown as { final: Record<string, unknown> & { ram?: Record<string, number> } };
      return a.final;
    };
    // XBZRLE on: its cache as asked, looked up for the pages resent after the first pass (the
    // dirtier rewrites whole pages, so they miss: pages sent encoded may be none); off: no XBZRLE counters
    expect(final('xb32')['xbzrle-cache']).toMatchObject({ 'cache-size': 32 * 2 ** 20 });
    expect((final('xb32')['xbzrle-cache'] as { 'cache-miss': number; pages: number })['cache-miss'] + (final('xb32')['xbzrle-cache'] as { pages: number }).pages).toBeGreaterThan(1000);
    expect(final('base')['xbzrle-cache']).toBeUndefined();
    // multifd: the RAM went over its channels
    expect(final('mfd2').ram!['multifd-bytes']).toBeGreaterThan(50 * 2 ** 20);
    expect(final('base').ram!['multifd-bytes'] ?? 0).toBe(0);
    // post-copy after 0 passes: switched in the first attempt's first pass, the rest pulled by the destination
    const pc = byLevels.get('pc0-bw64')!;
    expect(final('pc0-bw64').status).toBe('completed');
    const moved = pc.attempts[0]!.result;
    expect(moved.status === 'completed' && moved.postcopy?.atPass).toBe(0);
    expect(pc.metrics!.md.postcopyBytes!).toBeGreaterThan(0);
    expect(byLevels.get('base')!.attempts[0]!.result).not.toHaveProperty('postcopy');
    // paused once a pass was made, the rest sent with the guest standing still, resumed on arrival
    // (the trial checks it runs there): the guest saw a longer outage than QEMU's own last stop.
    // The 10 ms limit keeps the flat-out 16 MiB from converging before the pause: at 300 ms it can
    // converge right after its first pass, and then the guest is never paused (the report says so).
    const paused = final('dl10_pause1') as { paused?: { atPass: number }; downtime: number };
    expect(paused.paused!.atPass).toBeGreaterThanOrEqual(1);
    expect(byLevels.get('dl10_pause1')!.metrics!.downtime.probeMs!).toBeGreaterThan(paused.downtime);
    expect(final('base')).not.toHaveProperty('paused');
    for (const row of r.rows) expect(row.integrity, row.trialId).toMatchObject({ staleWrites: 0 });
    const report = await writeReport([await loadCampaignResults(r.resultsDir)], join(dir, 'report-fact'));
    const md = readFileSync(join(report.outDir, 'report.md'), 'utf8');
    expect(md).toContain('## Factors: what each setting did');
    expect(md).toMatch(/5 factors varied \(downtime limit: 10 ms, 300 ms; XBZRLE: off, 32 MiB cache; multifd: off, 2 channels; guest paused: off, after 1 pass; post-copy: off, after 0 passes at 64 MiB\/s\), 5 combinations, run in random order/);
    const csv = readFileSync(join(report.outDir, 'trials.csv'), 'utf8');
    expect(csv.split('\n')[0]).toContain('xbzrleSentMiB');
  }, 240_000);
});
