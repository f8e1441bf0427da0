/**
 * The libvirt backend on a bed whose hosts each run their own libvirtd (Debian's), isolated in
 * the host's mount namespace: a campaign with `hypervisor: libvirt` whose baseline converges and
 * whose 64 MiB working set stalls precopy and falls back to libvirt's offline (paused) migration,
 * then verify. Real libvirtd, real virsh over SSH, real QEMU (TCG).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCampaign } from '../campaign/builder.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from '../activities/ssh/pool.js';
import { runCampaign } from '../cli/run.js';
import { verifyCampaign } from '../cli/verify.js';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { libvirtdFiles } from '../lab/libvirtd.js';
import { pidFromFile } from '../lib/process.js';
import { stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import type { TrialRow } from '../workflows/trial-types.js';

const BED = 'lvirt';
const SUBNET = '198.18.16.0/24';
const dir = mkdtempSync(join(tmpdir(), 'miglab-libvirt-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17281, uiPort: 18281, namespace: 'default', dir: join(dir, 'temporal') };

describe('libvirt backend on a two-libvirtd bed', () => {
  let inv: BedInventory;
  const pool = new SshPool();
  const virsh = (host: number, args: string) => pool.execShell(inv.hosts[host]!.ssh, `virsh -q -c qemu:///system ${args}`, { allowFailure: true });

  /** A libvirt campaign on the bed: 64 MiB dirtied flat out (and the baseline), the paper's cap and limit. */
  function campaignFile(name: string, o: { baseline: boolean; ladder: ('auto-converge' | 'postcopy')[] }): string {
    return writeCampaign(dir, {
      campaign: name, bed: BED, hypervisor: 'libvirt', vm: { memoryMiB: 256 },
      scenarios: [...(o.baseline ? [{ name: 'baseline', kind: 'baseline' as const }] : []), { name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [64], rate: 'max' }],
      migration: { bandwidthMiBps: 112, downtimeLimitMs: 300, stall: { iterations: 6 } },
      ladder: o.ladder.map((step) => ({ step })),
      fallback: 'offline', probe: { intervalMs: 10 }, results: `results-${name}`,
    });
  }

  beforeAll(async () => {
    await labDown(BED);
    inv = await labUp({ bed: BED, subnet: SUBNET, libvirt: true });
  }, 120_000);

  afterAll(async () => {
    await pool.closeAll();
    await labDown(BED);
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('each host has its own libvirtd: a domain defined on one is unknown to the other', async () => {
    const pids = inv.hosts.map((h) => pidFromFile(libvirtdFiles(join(inv.dir, 'hosts', h.name)).pidFile));
    expect(pids.every((p) => p !== undefined)).toBe(true);
    expect(new Set(pids).size).toBe(2);
    const xml = `<domain type='qemu'><name>isocheck</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
    expect((await pool.execShell(inv.hosts[0]!.ssh, 'cat > /tmp/miglab-isocheck.xml && virsh -q -c qemu:///system define /tmp/miglab-isocheck.xml', { stdin: xml })).code).toBe(0);
    try {
      expect((await virsh(0, 'list --all --name')).stdout).toContain('isocheck');
      expect((await virsh(1, 'list --all --name')).stdout).not.toContain('isocheck');
      // and each keeps its state in its own folder on the shared filesystem
      expect(readFileSync(join(inv.dir, 'hosts', 'hosta', 'libvirt', 'etc', 'qemu', 'isocheck.xml'), 'utf8')).toContain('<name>isocheck</name>');
    } finally {
      await virsh(0, 'undefine isocheck');
    }
  });

  it('runs a campaign through virsh: the baseline converges, 64 MiB stalls and falls back offline; verify is clean', async () => {
    const file = campaignFile('lv-e2e', { baseline: true, ladder: [] });
    const r = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: SUBNET });
    const byId = new Map<string, TrialRow>(r.rows.map((x) => [x.trialId, x]));
    const base = byId.get('lv-e2e/baseline/idle/r1')!;
    expect(base.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect(base.metrics!.downtime.reportedBy).toBe('libvirt');
    // libvirt's two downtimes, side by side; downtime_net leaves out the hand-over between daemons
    expect(base.metrics!.downtime.qemuMs).toBeGreaterThan(0);
    expect(base.metrics!.downtime.libvirtNetMs!).toBeLessThanOrEqual(base.metrics!.downtime.qemuMs!);
    expect(base.metrics!.md.totalBytes).toBeGreaterThan(50 * 2 ** 20);
    expect(base.metrics!.downtime.probeMs).not.toBeNull();
    // each host's console in its own run dir: the source's saw the boot, the destination's exists
    const raw = join(dir, 'results-lv-e2e', 'raw', encodeURIComponent(base.trialId));
    expect(readFileSync(join(raw, 'console-hosta.log'), 'utf8')).toContain('miglab-guest ready name=mvm0');
    expect(existsSync(join(raw, 'console-hostb.log'))).toBe(true);

    const ramp = byId.get('lv-e2e/ramp/64MiB/r1')!;
    expect(ramp.outcome).toEqual({ kind: 'offline', afterAttempts: 1 });
    expect(ramp.attempts.map((a) => [a.plan.name, a.result.status])).toEqual([['precopy', 'aborted'], ['offline', 'completed']]);
    expect(ramp.attempts[0]!.result.status === 'aborted' && ramp.attempts[0]!.result.rule).toBe('stall');
    // the guest's memory arrived whole: the workload found no page as it was before its last write
    expect(ramp.integrity).toMatchObject({ staleWrites: 0, fullPass: true });
    // offline: the guest stood still for the whole move
    expect(ramp.metrics!.downtime.guestClockLagMs!).toBeGreaterThan(300);

    const v = await verifyCampaign({ file, resultsDir: join(dir, 'results-lv-e2e'), campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 2, recorded: 2, lost: [], duplicated: [], orphans: [], splitBrain: [] });
    for (const h of [0, 1]) expect((await virsh(h, 'list --all --name')).stdout.trim()).toBe('');
  }, 600_000);

  it('moves a working set precopy cannot keep up with by post-copy (--postcopy, then migrate-postcopy after one pass), no write lost', async () => {
    const file = campaignFile('lv-postcopy', { baseline: false, ladder: ['postcopy'] });
    const r = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: SUBNET });
    const row = r.rows[0]!;
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 1, step: 'post-copy' });
    const pc = row.attempts[1]!.result;
    expect(pc.status).toBe('completed');
    if (pc.status !== 'completed') return;
    expect(pc.postcopy).toMatchObject({ atPass: 1 });
    // libvirt counts the pages the destination had to fault in from the source
    expect(Number((pc.final as { libvirt?: { stats: Record<string, number> } }).libvirt!.stats.memory_postcopy_requests)).toBeGreaterThan(0);
    expect(row.integrity).toMatchObject({ staleWrites: 0, fullPass: true });
    const v = await verifyCampaign({ file, resultsDir: join(dir, 'results-lv-postcopy'), campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], orphans: [], splitBrain: [] });
  }, 600_000);
});
