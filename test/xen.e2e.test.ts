/**
 * The Xen backend against real Xen hosts: Debian's Xen 4.17 with a busybox dom0, each booted as a
 * QEMU (TCG) machine on a bed host (`lab up --xen`), the lab guest as a PVH domU. Real xl, real
 * xenstored, real `xl migrate` between the two dom0s over SSH. Slow: the nested machines move
 * well under 1 MiB/s, so the guest is small.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCampaign } from '../campaign/builder.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from '../activities/ssh/pool.js';
import { HostUnhealthy } from '../activities/backend.js';
import { segfaulterElf } from './helpers/segfaulter.js';
import { runCampaign } from '../cli/run.js';
import { verifyCampaign } from '../cli/verify.js';
import { backendFor } from '../cli/backend-for.js';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { guestAddress, labVmSpec, waitForPing } from '../lab/guest.js';
import { XEN_SHARED_DIR } from '../lab/xen-hosts.js';
import { stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import { flattenCampaigns, writeReport } from '../analysis/report.js';
import { loadCampaignResults } from '../analysis/load.js';

const BED = 'xenbed';
const SUBNET = '198.18.24.0/24';
const dir = mkdtempSync(join(tmpdir(), 'miglab-xen-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17291, uiPort: 18291, namespace: 'default', dir: join(dir, 'temporal') };

describe('Xen backend on real Xen hosts (Xen 4.17 under QEMU TCG)', () => {
  let inv: BedInventory;
  const pool = new SshPool();
  const xl = (host: number, args: string) => pool.execShell(inv.xen!.hosts[host]!.ssh, `xl ${args}`, { allowFailure: true });

  /** A Xen campaign on the bed: the baseline only, a 96 MiB guest (the smallest the lab kernel loads in), a 100 ms probe (a 10 ms one starves the nested hosts). */
  function campaignFile(name: string, o: { timeoutSPerGiB: number }): string {
    return writeCampaign(dir, {
      campaign: name, bed: BED, hypervisor: 'xen', vm: { memoryMiB: 96 },
      scenarios: [{ name: 'baseline', kind: 'baseline' }],
      migration: { completionTimeoutSPerGiB: o.timeoutSPerGiB, stall: { iterations: 6 } },
      ladder: [], fallback: 'offline', probe: { intervalMs: 100 }, results: `results-${name}`,
    });
  }

  /**
   * The paper's comparison in one campaign: a Xen pair (the Xen hosts on hosta and hostb) beside a
   * QEMU pair (hostc, hostd), the baseline on each; the cap is the QEMU pair's (xl has none).
   */
  function sideBySideFile(name: string): string {
    return writeCampaign(dir, {
      campaign: name, bed: BED, vm: { memoryMiB: 96 },
      pairs: [['hosta', 'hostb', 'xen'], ['hostc', 'hostd', 'qemu']], factors: { hypervisor: ['xen', 'qemu'] },
      scenarios: [{ name: 'baseline', kind: 'baseline' }],
      migration: { bandwidthMiBps: 112, completionTimeoutSPerGiB: 20_000, stall: { iterations: 6 } },
      ladder: [], fallback: 'offline', probe: { intervalMs: 100 }, results: `results-${name}`,
    });
  }

  beforeAll(async () => {
    await labDown(BED);
    // four bed hosts, Xen hosts booted on the first two only: hostc and hostd run QEMU guests
    inv = await labUp({ bed: BED, subnet: SUBNET, hosts: ['hosta', 'hostb', 'hostc', 'hostd'], xen: ['hosta', 'hostb'] });
  }, 300_000);

  afterAll(async () => {
    await pool.closeAll();
    await labDown(BED);
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it("boots a Xen host on each bed host asked for: xl answers in each dom0, reached with the host key the bed lists", async () => {
    expect(inv.xen!.hosts.map((h) => [h.name, h.ip])).toEqual([['hosta', '198.18.24.60'], ['hostb', '198.18.24.61']]);
    for (const h of [0, 1]) {
      const r = await xl(h, 'info');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^xen_version\s*:\s*4\.\d+/m);
      expect((await pool.execShell(inv.xen!.hosts[h]!.ssh, 'hostname')).stdout.trim()).toBe(inv.hosts[h]!.name);
    }
  });

  it('runs Xen and QEMU pairs side by side in one campaign: each baseline migrates live; Xen\'s TMT, MD and DT measured from outside, QEMU\'s reported by QEMU; reported side by side; verify is clean', async () => {
    const file = sideBySideFile('xen-live');
    const r = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: SUBNET });
    expect(r.rows.map((x) => x.trialId).sort()).toEqual(['xen-live/baseline/idle/qemu/r1', 'xen-live/baseline/idle/xen/r1']);
    const qemu = r.rows.find((x) => x.trialId.endsWith('/qemu/r1'))!;
    expect(qemu.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect([qemu.src, qemu.dst, qemu.provenance?.src?.hypervisor]).toEqual(['hostc', 'hostd', 'qemu']);
    expect(qemu.metrics!.downtime.reportedBy).toBe('qemu');
    expect(qemu.metrics!.md.source).toBe('hypervisor');
    expect(qemu.attempts[0]!.plan).toMatchObject({ maxBandwidth: 112 * 2 ** 20 });
    const row = r.rows.find((x) => x.trialId.endsWith('/xen/r1'))!;
    expect(row.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect([row.src, row.dst, row.provenance?.src?.hypervisor]).toEqual(['hosta', 'hostb', 'xen']);
    // xl applies no cap: the Xen pair's trial says it ran uncapped
    expect(row.attempts[0]!.plan).toMatchObject({ maxBandwidth: 0 });
    const m = row.metrics!;
    expect(m.tmtSource).toBe('dom0-clock');
    expect(m.md.source).toBe('interface-counter');
    expect(m.downtime.reportedBy).toBe('none');
    expect(m.downtime.qemuMs).toBeNull();
    expect(m.dtSource).toBe('probe');
    // the guest sends at least the pages it uses, and a migration of it takes real time
    expect(m.md.totalBytes).toBeGreaterThan(16 * 2 ** 20);
    expect(m.tmtMs).toBeGreaterThan(1000);
    expect(m.dtMs).toBeGreaterThan(0);
    // dom0's health is part of the record: the crashes each dom0 logged while the move was followed
    const first = row.attempts[0]!.result;
    expect(first.status === 'completed' && first.final.xen?.dom0Segfaults).toEqual({ hosta: 0, hostb: 0 });
    const raw = join(dir, 'results-xen-live', 'raw', encodeURIComponent(row.trialId));
    expect(readFileSync(join(raw, 'console-hosta.log'), 'utf8')).toContain('miglab-guest ready name=mvm0');
    // the report keeps each hypervisor's rows apart
    const loaded = await loadCampaignResults(r.resultsDir);
    expect(flattenCampaigns([loaded]).map((x) => `${x.hypervisor} ${x.scenario} ${x.mode}`).sort()).toEqual(['qemu baseline live', 'xen baseline live']);
    const report = await writeReport([loaded], join(dir, 'report-xen-live'));
    expect(readFileSync(join(report.outDir, 'report.md'), 'utf8')).toMatch(/1 factor varied \(hypervisor: qemu, xen\), 2 combinations/);
    const v = await verifyCampaign({ file, resultsDir: join(dir, 'results-xen-live'), campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 2, recorded: 2, lost: [], duplicated: [], orphans: [], splitBrain: [] });
    for (const h of [0, 1]) expect((await xl(h, 'list')).stdout).not.toMatch(/mvm0/);
  }, 900_000);

  it('stops a live migration past its completion timeout (guest resumes on the source) and moves it offline through the shared folder', async () => {
    // 96 MiB at 150 s/GiB: given up after 14 s, long before the first pass is through
    const file = campaignFile('xen-offline', { timeoutSPerGiB: 150 });
    const r = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: SUBNET });
    const row = r.rows[0]!;
    expect(row.outcome).toEqual({ kind: 'offline', afterAttempts: 1 });
    expect(row.attempts.map((a) => [a.plan.name, a.result.status])).toEqual([['precopy', 'aborted'], ['offline', 'completed']]);
    expect(row.attempts[0]!.result.status === 'aborted' && row.attempts[0]!.result.rule).toBe('completion-timeout');
    // offline, the state went through the share: MD is the save image, and the probe saw the guest
    // gone for the whole save and restore (its own clock does not show it: Xen's pvclock keeps
    // real time across a save and restore, unlike a paused QEMU guest's under TCG)
    expect(row.metrics!.md.source).toBe('save-image');
    expect(row.metrics!.md.totalBytes).toBeGreaterThan(16 * 2 ** 20);
    expect(row.metrics!.dtSource).toBe('probe');
    expect(row.metrics!.dtMs).toBeGreaterThan(1000);
    expect(row.metrics!.dtMs).toBeLessThanOrEqual(row.metrics!.tmtMs + 5000);
    expect(readFileSync(join(inv.dir, 'xen-shared', 'guest', 'vmlinuz')).length).toBeGreaterThan(0);
    const v = await verifyCampaign({ file, resultsDir: join(dir, 'results-xen-offline'), campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], orphans: [], splitBrain: [] });
  }, 900_000);

  it('starts a migration again when its transfer dies (the save helper killed with SIGSEGV, as dom0 processes died on this bed before eager-fpu) and records the restart', async () => {
    const site = { ...inv, hosts: inv.xen!.hosts };
    const backend = await backendFor('xen', site, inv, pool);
    const spec = { ...labVmSpec(inv, 1, { name: 'restart1', memoryMiB: 96 }), kernel: `${XEN_SHARED_DIR}/guest/vmlinuz`, initrd: `${XEN_SHARED_DIR}/guest/initrd.img`, owner: 'restart-test' };
    await backend.startVm('hosta', spec);
    try {
      await waitForPing(guestAddress(spec), 180_000, inv.probeVia);
      let killed = '';
      const r = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300 }, {
        onProgress: () => undefined,
        abortIf: () => {
          // once, as soon as the first transfer's helper runs: it dies as a crashed process would
          if (killed === '' || killed === 'none') {
            killed = 'pending';
            void pool.execShell(inv.xen!.hosts[0]!.ssh, 'for p in /proc/[0-9]*; do case $(cat $p/comm 2>/dev/null) in libxl-save-hel*) kill -SEGV ${p#/proc/} && echo ${p#/proc/};; esac; done; true', { allowFailure: true }).then((x) => { killed = x.stdout.trim() || 'none'; });
          }
          return undefined;
        },
      });
      expect(killed).toMatch(/^\d+/);
      expect(r.status, r.status === 'completed' ? '' : r.error).toBe('completed');
      const restarts = r.status === 'completed' ? (r.final['xen'] as { restarts?: { error: string }[] }).restarts : undefined;
      expect(restarts).toHaveLength(1);
      expect(restarts![0]!.error).toMatch(/fatal signal|exited 1[3-5]\d/);
      expect((await backend.vmState('hostb', 'restart1')).kind).toBe('running');
      expect((await backend.vmState('hosta', 'restart1')).kind).toBe('absent');
    } finally {
      for (const h of ['hosta', 'hostb']) await backend.stopVm(h, 'restart1');
    }
  }, 900_000);

  it('refuses to start work on a dom0 whose process segfaulted since it was last found healthy (a real crash: a program that writes to address 0), until its count is accepted', async () => {
    const site = { ...inv, hosts: inv.xen!.hosts };
    const backend = await backendFor('xen', site, inv, pool);
    const dom0a = inv.xen!.hosts[0]!.ssh;
    await backend.checkHealth!('hosta');
    // busybox's printf writes the program's bytes from octal escapes (dom0 has no compiler)
    const octal = [...segfaulterElf()].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    const ran = await pool.execShell(dom0a, `printf '${octal}' > /tmp/segv && chmod +x /tmp/segv && /tmp/segv; echo "rc=$?"; rm -f /tmp/segv`, { allowFailure: true });
    expect(ran.stdout).toContain('rc=139');
    const refused = await backend.checkHealth!('hosta').then(() => undefined, (e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(HostUnhealthy);
    expect(refused!.message).toMatch(/^hosta's dom0 logged 1 segfault since miglab last found it healthy \(\d+ since boot, \d+ accepted\)/);
    expect(refused!.message).toMatch(/The kernel's last: .*segv\[\d+\]: segfault at 0 /);
    // nor is a migration started from it (the check comes before anything runs: no VM is needed)
    const spec = { ...labVmSpec(inv, 2, { name: 'sick1', memoryMiB: 96 }), kernel: `${XEN_SHARED_DIR}/guest/vmlinuz`, initrd: `${XEN_SHARED_DIR}/guest/initrd.img`, owner: 'sick-test' };
    await expect(backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300 })).rejects.toThrow(HostUnhealthy);
    await backend.checkHealth!('hostb');
    // what the error says to do once the crash is understood
    const accept = /`(echo \d+ > [^`]+)` in its dom0$/.exec(refused!.message)?.[1];
    expect(accept).toBeDefined();
    await pool.execShell(dom0a, accept!);
    await backend.checkHealth!('hosta');
  }, 300_000);

  it('wakes a guest whose offline save died after suspending it, where xl can (xl resume); where it cannot (Xen 4.17), fails the move saying the guest is left suspended', async () => {
    const site = { ...inv, hosts: inv.xen!.hosts };
    const backend = await backendFor('xen', site, inv, pool);
    const dom0a = inv.xen!.hosts[0]!.ssh;
    const canResume = (await pool.execShell(dom0a, "xl help 2>&1 | grep -cE '^ +resume( |$)'; true", { allowFailure: true })).stdout.trim() !== '0';
    const spec = { ...labVmSpec(inv, 3, { name: 'suspended1', memoryMiB: 96 }), kernel: `${XEN_SHARED_DIR}/guest/vmlinuz`, initrd: `${XEN_SHARED_DIR}/guest/initrd.img`, owner: 'suspend-test' };
    await backend.startVm('hosta', spec);
    try {
      await waitForPing(guestAddress(spec), 180_000, inv.probeVia);
      // once the guest is suspended (its domain's shutdown flag), xl itself is killed: nobody is left to resume it
      const killXlOnceSuspended =
        'for i in $(seq 1 300); do f=$(xl list 2>/dev/null | awk \'$1=="suspended1"{print $5}\'); case "$f" in *s*) break;; esac; sleep 0.2; done; ' +
        'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = xl ] && grep -q save $p/cmdline 2>/dev/null && kill -9 ${p#/proc/} && echo "killed ${p#/proc/} at $f"; done; true';
      let killed: Promise<string> | undefined;
      const r = await backend.migrateOffline('hosta', 'hostb', spec, { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300 }, {
        onProgress: () => { killed ??= pool.execShell(dom0a, killXlOnceSuspended, { allowFailure: true }).then((x) => x.stdout.trim()); },
      });
      expect(await killed).toMatch(/^killed \d+ at [-a-z]*s/);
      if (canResume) {
        expect(r.status, r.status === 'completed' ? '' : r.error).toBe('completed');
        const restarts = r.status === 'completed' ? (r.final['xen'] as { restarts?: { error: string }[] }).restarts : undefined;
        expect(restarts?.[0]?.error).toContain('woken on hosta with xl resume');
      } else {
        expect(r.status).toBe('failed');
        expect(r.status === 'failed' ? r.error : '').toContain('xl died after suspending suspended1: its domain is left suspended on hosta, and this xl has no resume command');
        expect(await backend.vmState('hosta', 'suspended1')).toEqual({ kind: 'paused', reason: 'shutting down' });
        expect((await backend.vmState('hostb', 'suspended1')).kind).toBe('absent');
      }
    } finally {
      for (const h of ['hosta', 'hostb']) await backend.stopVm(h, 'suspended1');
    }
  }, 600_000);
});
