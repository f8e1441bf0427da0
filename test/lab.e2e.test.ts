/**
 * End to end on the real bed: namespaces, sshd hosts, a QEMU (TCG) guest migrated between them
 * through miglab's own QMP-over-SSH client, and a clean `lab down`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../lib/exec.js';
import { labDown, labStatus, labUp, type BedInventory } from '../lab/bed.js';
import { guestAddress, guestSsh, labVmSpec, pingOnce, waitForPing } from '../lab/guest.js';
import { listNetns, networkUp, reservedPorts } from '../lab/netns.js';
import { planBed } from '../lab/addressing.js';
import { QemuBackend } from '../activities/qemu/backend.js';
import { SshPool } from '../activities/ssh/pool.js';
import type { MigrationProgress } from '../activities/backend.js';
import { AbortWatch, type AbortVerdict } from '../activities/migration/abort-rules.js';

const BED = 'e2e';

/** The bed's QEMU processes; pgrep's "nothing matched" (exit 1) is none, any other failure fails the test. */
function qemuProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', 'process=miglab-'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

describe('lab bed: boot, ping, migrate over QMP-over-SSH, lab down', () => {
  let inv: BedInventory;
  const pool = new SshPool();

  beforeAll(async () => {
    await labDown(BED); // a crashed earlier run must not get in the way
    inv = await labUp({ bed: BED, subnet: '198.18.2.0/24', hosts: ['hosta', 'hostb'] });
  });

  afterAll(async () => {
    await pool.closeAll();
    await labDown(BED);
  });

  it('brings up one namespace per host plus the switch, each host answering ping and SSH', async () => {
    const ns = await listNetns();
    expect(ns).toEqual(expect.arrayContaining(['miglab-e2e-sw', 'miglab-e2e-hosta', 'miglab-e2e-hostb']));
    for (const h of inv.hosts) {
      expect(await pingOnce(h.ip, inv.plan.controllerIf)).toBe(true);
      const r = await pool.exec(h.ssh, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'br0']);
      expect(r.stdout).toContain(`${h.ip}/24`);
    }
  });

  it("routes nothing for the benchmarking range off this machine: an address no bed has is unreachable here, not sent out the default route", async () => {
    // 198.19.255.1 is in 198.18.0.0/15 but in no bed's subnet
    const r = await run('ip', ['route', 'get', '198.19.255.1']).catch((err: Error) => ({ stdout: '', stderr: err.message }));
    expect(`${r.stdout}${'stderr' in r ? r.stderr : ''}`).toMatch(/unreachable|No route to host/i);
    // a bed's own subnet still routes through its controller interface
    expect((await run('ip', ['route', 'get', inv.hosts[0]!.ip])).stdout).toContain(`dev ${inv.plan.controllerIf}`);
  });

  it('is idempotent: a second up changes nothing and keeps the hosts reachable', async () => {
    const sshdPids = () => inv.hosts.map((h) => readFileSync(`${inv.dir}/hosts/${h.name}/sshd.pid`, 'utf8').trim());
    const before = sshdPids();
    const again = await labUp({ bed: BED, subnet: '198.18.2.0/24', hosts: ['hosta', 'hostb'] });
    expect(again.hosts.map((h) => h.ip)).toEqual(inv.hosts.map((h) => h.ip));
    expect(sshdPids()).toEqual(before); // the running sshds were kept, not restarted
    const status = await labStatus(BED);
    expect(status.up).toBe(true);
    expect(status.namespaces.sort()).toEqual(['miglab-e2e-hosta', 'miglab-e2e-hostb', 'miglab-e2e-sw']);
    for (const h of inv.hosts) expect(await pingOnce(h.ip, inv.plan.controllerIf)).toBe(true);
  });

  it('refuses a host whose key does not match known_hosts', async () => {
    const wrong = { ...inv.hosts[0]!.ssh, host: inv.hosts[1]!.ip }; // hostb answers with its own key, not hosta's
    const kh = `${inv.dir}/known_hosts.swapped`;
    const fs = await import('node:fs/promises');
    const lines = (await fs.readFile(inv.knownHosts, 'utf8')).split('\n');
    const hostaKey = lines.find((l) => l.startsWith(`${inv.hosts[0]!.ip} `))!.split(' ').slice(1).join(' ');
    await fs.writeFile(kh, `${inv.hosts[1]!.ip} ${hostaKey}\n`);
    const p = new SshPool();
    await expect(p.exec({ ...wrong, knownHostsPath: kh }, ['true'])).rejects.toThrow(/does not match known_hosts/);
    // a key mismatch stays a HostKeyError (never retried), not "unreachable" (retried)
    await expect(p.exec({ ...wrong, knownHostsPath: kh }, ['true'])).rejects.toMatchObject({ name: 'HostKeyError' });
    await p.closeAll();
  });

  it('boots a guest on hosta, migrates it live to hostb and back, and the guest still answers ping and SSH', async () => {
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    const spec = labVmSpec(inv, 0, { name: 'vm1', memoryMiB: 256 });
    const ip = guestAddress(spec);

    await backend.startVm('hosta', spec);
    expect(await backend.vmState('hosta', 'vm1')).toEqual({ kind: 'running' });
    await waitForPing(ip, 60_000, inv.plan.controllerIf);
    const before = await pool.exec(guestSsh(inv, spec), ['cat', '/proc/sys/kernel/hostname', '/proc/uptime']);
    expect(before.stdout.split('\n')[0]).toBe('vm1');

    const polls: MigrationProgress[] = [];
    const result = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * 1024 * 1024, downtimeLimitMs: 300 }, { onProgress: (p) => polls.push(p) });
    expect(result.status).toBe('completed');
    if (result.status !== 'completed') return;
    expect(result.transferredBytes).toBeGreaterThan(1024 * 1024);
    expect(result.downtimeMs).toBeGreaterThan(0);
    expect(polls.length).toBe(result.polls);

    expect(await backend.vmState('hostb', 'vm1')).toEqual({ kind: 'running' });
    expect(await backend.vmState('hosta', 'vm1')).toEqual({ kind: 'migrated-away' });
    // A retried migrate step finds the finished job and reports it instead of migrating again.
    const again = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * 1024 * 1024, downtimeLimitMs: 300 });
    expect(again).toMatchObject({ status: 'completed', polls: 1, transferredBytes: result.transferredBytes });
    expect(await backend.vmState('hostb', 'vm1')).toEqual({ kind: 'running' });
    await backend.stopVm('hosta', 'vm1');
    expect(await backend.vmState('hosta', 'vm1')).toEqual({ kind: 'absent' });

    await waitForPing(ip, 10_000, inv.plan.controllerIf);
    // Same guest, not a fresh boot: its uptime kept counting across the move.
    const after = await pool.exec(guestSsh(inv, spec), ['cat', '/proc/sys/kernel/hostname', '/proc/uptime']);
    expect(after.stdout.split('\n')[0]).toBe('vm1');
    const up = (s: string) => Number(s.split('\n')[1]!.split(' ')[0]);
    expect(up(after.stdout)).toBeGreaterThan(up(before.stdout));

    // And back (ping-pong reuse): hostb's QEMU arrived by migration, and until its own move is under
    // way its query-migrate says the arrival's 'completed', with no figures — not this move's end.
    const back = await backend.migrate('hostb', 'hosta', spec, { maxBandwidth: 112 * 1024 * 1024, downtimeLimitMs: 300 });
    expect(back.status).toBe('completed');
    if (back.status !== 'completed') return;
    expect(back.transferredBytes).toBeGreaterThan(1024 * 1024);
    expect(back.totalTimeMs).toBeGreaterThan(0);
    expect(await backend.vmState('hosta', 'vm1')).toEqual({ kind: 'running' });
    expect(await backend.vmState('hostb', 'vm1')).toEqual({ kind: 'migrated-away' });
    await backend.stopVm('hostb', 'vm1');
    await waitForPing(ip, 10_000, inv.plan.controllerIf);
    const home = await pool.exec(guestSsh(inv, spec), ['cat', '/proc/sys/kernel/hostname', '/proc/uptime']);
    expect(up(home.stdout)).toBeGreaterThan(up(after.stdout));

    await backend.stopVm('hosta', 'vm1');
    expect(await backend.vmState('hosta', 'vm1')).toEqual({ kind: 'absent' });
  }, 180_000);

  it('an abort rule (completion timeout) cancels a live migration with the VM still running on the source; offline migration then moves it, workload and all', async () => {
    // Under TCG a guest cannot keep memory dirty faster than migration sends it (see the README),
    // so this test starves the migration of bandwidth instead: 1 MiB/s cannot move the guest
    // within the 2 s the rule allows.
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    const spec = labVmSpec(inv, 1, { name: 'vm2', memoryMiB: 256 });
    const ip = guestAddress(spec);
    const guest = guestSsh(inv, spec);
    try {
      await backend.startVm('hosta', spec);
      await waitForPing(ip, 60_000, inv.plan.controllerIf);
      await pool.execShell(guest, 'setsid dirtier -m 32 -r max -i 10 > /tmp/dirtier.log 2>&1 < /dev/null &');
      for (let i = 0; i < 50 && !(await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));

      const watch = new AbortWatch({ completionTimeoutSPerGiB: 8, guestMemoryMiB: 256, stallIterations: 5 }); // 2 s for 256 MiB
      let verdict: AbortVerdict = { abort: false };
      const polls: MigrationProgress[] = [];
      const live = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 2 ** 20, downtimeLimitMs: 300 }, {
        onProgress: (p) => polls.push(p),
        abortIf: (p) => {
          const v = watch.observe(p);
          if (v.abort) verdict = v;
          return v.abort ? v.reason : undefined;
        },
      });
      expect(live.status).toBe('cancelled');
      expect(verdict).toMatchObject({ abort: true, rule: 'completion-timeout' });
      if (live.status !== 'completed') expect(live.error).toMatch(/not complete after 2\.\d s \(limit 2\.0 s for 256 MiB\)/);
      expect(polls.at(-1)!.status).toBe('cancelled');
      expect(await backend.vmState('hosta', 'vm2')).toEqual({ kind: 'running' });
      expect(await pingOnce(ip, inv.plan.controllerIf)).toBe(true);

      const offline = await backend.migrateOffline('hosta', 'hostb', spec, { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300 });
      expect(offline.status).toBe('completed');
      expect(await backend.vmState('hostb', 'vm2')).toEqual({ kind: 'running' });
      expect(await backend.vmState('hosta', 'vm2')).toEqual({ kind: 'migrated-away' });
      await backend.stopVm('hosta', 'vm2');
      await waitForPing(ip, 10_000, inv.plan.controllerIf);
      // The workload moved with the VM and keeps beating on the destination.
      const beats = async () => Number((await pool.exec(guest, ['grep', '-c', '^hb', '/tmp/dirtier.log'])).stdout.trim());
      const before = await beats();
      await new Promise((r) => setTimeout(r, 500));
      expect(await beats()).toBeGreaterThan(before);
    } finally {
      await backend.stopVm('hosta', 'vm2');
      await backend.stopVm('hostb', 'vm2');
    }
  }, 240_000);

  it("a VM belongs to its trial: another trial's teardown leaves it running, the next trial replaces a leftover instead of reusing it", async () => {
    // Seen on the bed: a cancelled trial's teardown, still running after its campaign was
    // restarted, stopped the new trial's VM (lanes reuse VM names).
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    const base = labVmSpec(inv, 2, { name: 'vm3', memoryMiB: 128 });
    const pidOf = async () => (await pool.exec(inv.hosts[0]!.ssh, ['cat', `${inv.hosts[0]!.runDir}/vm3.pid`])).stdout.trim();
    try {
      await backend.startVm('hosta', { ...base, owner: 'c/s/8MiB/r1' });
      const first = await pidOf();
      expect(await backend.stopVm('hosta', 'vm3', { owner: 'c/s/4MiB/r3' })).toBe('not-ours');
      expect(await backend.vmState('hosta', 'vm3')).toEqual({ kind: 'running' });
      await backend.startVm('hosta', { ...base, owner: 'c/s/8MiB/r1' }); // a retried step: same owner, same VM
      expect(await pidOf()).toBe(first);
      await backend.startVm('hosta', { ...base, owner: 'c/s/8MiB/r2' }); // the next trial: a fresh VM
      expect(await pidOf()).not.toBe(first);
      expect(await backend.vmState('hosta', 'vm3')).toEqual({ kind: 'running' });
      expect(await backend.stopVm('hosta', 'vm3', { owner: 'c/s/8MiB/r2' })).toBe('stopped');
      expect(await backend.vmState('hosta', 'vm3')).toEqual({ kind: 'absent' });
    } finally {
      await backend.stopVm('hosta', 'vm3');
    }
  }, 120_000);

  it("keeps the lanes' ports out of each host's ephemeral range; a port held anyway fails the move at once, the holder named, the VM still on its source", async () => {
    // An outgoing connection on the destination given the migration port made libvirt's QEMU
    // listen on IPv6 alone (both attempts of a fresh-clone CI's trial: 'Connection refused').
    for (const h of inv.hosts) expect((await pool.exec(h.ssh, ['sysctl', '-n', 'net.ipv4.ip_local_reserved_ports'])).stdout.trim(), h.name).toBe(reservedPorts());
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    const spec = labVmSpec(inv, 3, { name: 'vm4', memoryMiB: 128 });
    const [a, b] = [inv.hosts[0]!, inv.hosts[1]!];
    // on hostb: a connection to hosta's sshd from the VM's migration port, as an ephemeral port would
    // be (socat, like most clients, binds without SO_REUSEADDR; sshd's banner says it is connected)
    const holder = spawn('ip', ['netns', 'exec', b.netns, 'socat', '-u', `TCP:${a.ip}:22,bind=${b.ip}:${spec.migrationPort}`, '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', () => resolve());
        holder.on('exit', (code) => reject(new Error(`the holder exited ${code}`)));
      });
      await backend.startVm('hosta', spec);
      const moved = backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300 });
      await expect(moved).rejects.toThrow(new RegExp(`Address already in use \\(on hostb, port ${spec.migrationPort}: ESTAB .*${b.ip}:${spec.migrationPort} ${a.ip}:22`));
      expect(await backend.vmState('hosta', 'vm4')).toEqual({ kind: 'running' });
    } finally {
      holder.kill();
      await backend.stopVm('hostb', 'vm4');
      await backend.stopVm('hosta', 'vm4');
    }
  }, 120_000);

  it('lab down leaves no namespace, interface, process or socket behind', async () => {
    await pool.closeAll();
    const res = await labDown(BED);
    expect(res.namespaces.sort()).toEqual(['miglab-e2e-hosta', 'miglab-e2e-hostb', 'miglab-e2e-sw']);
    expect((await listNetns()).filter((n) => n.startsWith('miglab-e2e-'))).toEqual([]);
    expect(() => execFileSync('ip', ['link', 'show', 'dev', 'mlc-e2e'], { stdio: 'ignore' })).toThrow();
    expect(qemuProcesses()).toEqual([]);
    const { existsSync } = await import('node:fs');
    expect(existsSync(inv.dir)).toBe(false);
    expect((await labStatus(BED)).up).toBe(false);
  });

  it('lab down also cleans up after an up that crashed half-way (network made, no sshd, no bed.json)', async () => {
    const plan = planBed({ bed: 'crash', subnet: '198.18.5.0/24', hosts: ['hosta', 'hostb'] });
    await networkUp(plan); // what a crashed `up` leaves: namespaces, bridges, the controller veth
    expect((await listNetns()).filter((n) => n.startsWith('miglab-crash-')).length).toBe(3);
    const res = await labDown('crash');
    expect(res.namespaces.length).toBe(3);
    expect((await listNetns()).filter((n) => n.startsWith('miglab-crash-'))).toEqual([]);
    expect(() => execFileSync('ip', ['link', 'show', 'dev', 'mlc-crash'], { stdio: 'ignore' })).toThrow();
  });
});
