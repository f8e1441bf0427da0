/**
 * `miglab hosts check <campaign>`: what a user must know about a campaign's hosts before running it,
 * asked of the hosts themselves — SSH with a verified host key, the hypervisor's version, the
 * accelerator guests would run under (the KVM probe), the guest image, the bridge, free memory,
 * and per pair whether the accelerators and CPUs match and whether the guest image's folder is
 * really shared (a file written on one host read on the other). Every problem comes with its fix.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { ResolvedGuestCpu } from '../activities/qemu/accel-probe.js';
import { HostKeyError, type SshPool } from '../activities/ssh/pool.js';
import { commandLine, quote } from '../activities/ssh/shell-quote.js';
import type { CampaignSpec } from '../campaign/spec.js';
import { accelMismatch, accelRequest, cpuFlagsApart, HOST_CPU_SCRIPT, hostCpuMismatch, parseHostCpu, resolveHostAccel, type HostCpu } from './guest-accel.js';
import type { CampaignSite } from './site.js';
import { hostKind, lanePairs } from '../campaign/pairs.js';
import { listenPorts, unreservedEphemeral } from '../activities/port-holders.js';

export interface Problem {
  what: string;
  fix: string;
}

export interface HostReport {
  host: string;
  address: string;
  /** SSH answered with the host key known_hosts lists */
  reachable: boolean;
  hypervisorVersion: string | null;
  /** how guests would run here (QEMU and libvirt), null for Xen or an unreachable host */
  accelerator: ResolvedGuestCpu | null;
  cpuModel: string | null;
  memAvailableMiB: number | null;
  problems: Problem[];
}

export interface PairReport {
  src: string;
  dst: string;
  /** CPU flags one host has and the other lacks (what `host` would not migrate) */
  cpuFlagsOnlySrc: string[];
  cpuFlagsOnlyDst: string[];
  /** the guest image's folder (the disk's, or else the kernel's) is one filesystem on both hosts (null: not known) */
  sharedStorage: boolean | null;
  problems: Problem[];
}

export interface HostsCheckReport {
  campaign: string;
  hosts: HostReport[];
  pairs: PairReport[];
  problems: number;
}

const VERSION_COMMAND = {
  qemu: 'qemu-system-x86_64 --version',
  libvirt: "virsh -q -c qemu:///system version --daemon | sed -n 's/^Running against daemon: *//p'",
  xen: "xl info | sed -n 's/^xen_version *: */Xen /p'",
} as const;

interface Facts {
  version: string | null;
  /** net.ipv4.ip_local_port_range and ip_local_reserved_ports, as the host has them ('' unread) */
  portRange: string;
  reservedPorts: string;
  memAvailableMiB: number | null;
  cpu: HostCpu;
  missing: string[];
}

/** One round trip: the facts a check needs, one per line, then what is missing. */
async function factsOf(pool: SshPool, h: CampaignSite['site']['hosts'][number], spec: CampaignSpec, image: readonly string[]): Promise<Facts> {
  const script = [
    `echo "version: $({ ${VERSION_COMMAND[spec.hypervisor]}; } 2>/dev/null | head -n 1)"`,
    `echo "mem: $(sed -n 's/^MemAvailable: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)"`,
    HOST_CPU_SCRIPT,
    `for f in ${commandLine(image)}; do test -r "$f" || echo "missing: $f"; done`,
    ...(spec.hypervisor === 'xen' ? [] : [`ip link show dev ${quote(h.bridge)} >/dev/null 2>&1 || echo "missing: bridge ${h.bridge}"`]),
    'echo "port-range: $(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)"',
    'echo "reserved-ports: $(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null)"',
  ].join('; ');
  const out = (await pool.execShell(h.ssh, script)).stdout.split('\n');
  const field = (k: string) => out.find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2).trim() || null;
  const kib = Number(field('mem'));
  return {
    version: field('version'),
    portRange: field('port-range') ?? '',
    reservedPorts: field('reserved-ports') ?? '',
    memAvailableMiB: field('mem') && Number.isFinite(kib) ? Math.floor(kib / 1024) : null,
    cpu: parseHostCpu(out),
    missing: out.filter((l) => l.startsWith('missing: ')).map((l) => l.slice(9)),
  };
}

export async function checkCampaignHosts(spec: CampaignSpec, cs: CampaignSite, pool: SshPool): Promise<HostsCheckReport> {
  const vm = cs.vmSpec(0);
  const lanes = lanePairs(spec, cs.site.hosts.map((h) => h.name));
  const pairs = lanes.map((l): [string, string] => [l.src, l.dst]);
  const kindOf = hostKind(lanes, spec.hypervisor);
  // each host (and pair) is checked for the hypervisor its pairs run
  const specOf = (host: string): CampaignSpec => ({ ...spec, hypervisor: kindOf(host) });
  const req = accelRequest(spec.vm);
  const facts = new Map<string, Facts>();
  const hosts = await Promise.all(
    cs.site.hosts.map(async (h): Promise<HostReport> => {
      const spec = specOf(h.name);
      const report: HostReport = { host: h.name, address: `${h.ssh.user}@${h.ip}:${h.ssh.port}`, reachable: false, hypervisorVersion: null, accelerator: null, cpuModel: null, memAvailableMiB: null, problems: [] };
      let f: Facts;
      try {
        f = await factsOf(pool, h, spec, [vm.kernel, vm.initrd, ...(vm.disk ? [vm.disk.image] : [])]);
      } catch (err) {
        report.problems.push(
          err instanceof HostKeyError
            ? { what: err.message, fix: `add the host's key to the known_hosts the campaign names (ssh-keyscan -p ${h.ssh.port} ${h.ip}, checked against the host's own key)` }
            : { what: `SSH to ${report.address} failed: ${(err as Error).message}`, fix: "check the host's address, port, user and key, and that sshd runs" },
        );
        return report;
      }
      facts.set(h.name, f);
      Object.assign(report, { reachable: true, hypervisorVersion: f.version, cpuModel: f.cpu.model, memAvailableMiB: f.memAvailableMiB });
      if (!f.version) report.problems.push({ what: `no ${spec.hypervisor} here (\`${VERSION_COMMAND[spec.hypervisor].split(' |')[0]}\` gave nothing)`, fix: `install ${spec.hypervisor === 'qemu' ? 'qemu-system-x86' : spec.hypervisor === 'libvirt' ? 'libvirt-daemon-system and qemu-system-x86' : 'xen-system-amd64 and boot into Xen'}` });
      for (const m of f.missing) report.problems.push({ what: `missing: ${m}`, fix: m.startsWith('bridge ') ? `create the bridge the guest's NIC joins, or set hosts[].bridge` : 'put the guest image at the same path on every host (vm.guest.kernel/initrd), or on storage they share' });
      if (f.memAvailableMiB !== null && f.memAvailableMiB < spec.vm.memoryMiB * 1.1) {
        report.problems.push({ what: `${f.memAvailableMiB} MiB available, the VM needs ${spec.vm.memoryMiB} MiB and QEMU some more`, fix: 'free memory on the host, or a smaller vm.memoryMiB' });
      }
      if (spec.hypervisor !== 'xen' && f.version) {
        const r = await resolveHostAccel({ ...req, kernel: vm.kernel }, pool, h.ssh);
        if (r.ok) report.accelerator = r.guest;
        else report.problems.push({ what: r.reason, fix: 'make KVM work here (kvm module loaded, /dev/kvm usable, the CPU model supported), or set vm.accel: auto or tcg' });
      }
      return report;
    }),
  );
  const pairReports = await Promise.all(pairs.map(([src, dst], lane) => checkPair(src, dst, { hosts, facts, cs, spec: specOf(src), pool, kernelDir: dirname(vm.disk?.image ?? vm.kernel), ports: listenPorts(cs.vmSpec(lane)) })));
  const problems = hosts.reduce((n, h) => n + h.problems.length, 0) + pairReports.reduce((n, p) => n + p.problems.length, 0);
  return { campaign: spec.campaign, hosts, pairs: pairReports, problems };
}

async function checkPair(
  src: string,
  dst: string,
  o: { hosts: HostReport[]; facts: Map<string, Facts>; cs: CampaignSite; spec: CampaignSpec; pool: SshPool; kernelDir: string; ports: number[] },
): Promise<PairReport> {
  const report: PairReport = { src, dst, cpuFlagsOnlySrc: [], cpuFlagsOnlyDst: [], sharedStorage: null, problems: [] };
  const a = o.facts.get(src), b = o.facts.get(dst);
  if (!a || !b) return report; // a host unreachable: said on the host
  const apart = cpuFlagsApart(a.cpu, b.cpu);
  report.cpuFlagsOnlySrc = apart.onlyA;
  report.cpuFlagsOnlyDst = apart.onlyB;
  const ga = o.hosts.find((h) => h.host === src)!.accelerator, gb = o.hosts.find((h) => h.host === dst)!.accelerator;
  const accelDiffer = ga && gb && accelMismatch(src, ga, dst, gb);
  if (accelDiffer) report.problems.push({ what: accelDiffer, fix: 'fix KVM on the host without it, or set vm.accel: tcg' });
  // QEMU and libvirt destinations listen on the lane's fixed ports (Xen moves over xl's SSH); a
  // reused VM moves back, so its source is a destination too
  const listeners = o.spec.hypervisor === 'xen' ? [] : o.spec.vm.reuse === 'ping-pong' ? [[src, a], [dst, b]] as const : [[dst, b]] as const;
  for (const [name, f] of listeners) {
    const open = unreservedEphemeral(o.ports, f.portRange, f.reservedPorts);
    if (!open.length) continue;
    report.problems.push({
      what: `${name} may give port${open.length === 1 ? '' : 's'} ${open.join(', ')} (where the pair's VM arrives) to an outgoing connection: ${open.length === 1 ? 'it is' : 'they are'} in its ephemeral range (${f.portRange.trim().replace(/\s+/, '-')}) and not reserved, and a move then fails with 'Address already in use'`,
      fix: `on ${name}: sysctl -w net.ipv4.ip_local_reserved_ports=${[f.reservedPorts.trim(), ...open].filter(Boolean).join(',')} (and the same in /etc/sysctl.d/ to keep it)`,
    });
  }
  const cpuDiffer = o.spec.vm.cpu === 'host' && hostCpuMismatch(src, a.cpu, dst, b.cpu);
  if (cpuDiffer) report.problems.push({ what: cpuDiffer, fix: 'name a CPU model both hosts have (vm.cpu, qemu64 by default)' });
  // Shared storage: a file written in the guest image's folder on one host, read on the other.
  const h = (n: string) => o.cs.site.hosts.find((x) => x.name === n)!;
  const token = randomBytes(8).toString('hex');
  const file = `${o.kernelDir}/.miglab-shared-check-${token}`;
  const wrote = await o.pool.execShell(h(src).ssh, `echo ${token} > ${quote(file)}`, { allowFailure: true });
  if (wrote.code === 0) {
    const read = await o.pool.exec(h(dst).ssh, ['cat', file], { allowFailure: true });
    report.sharedStorage = read.code === 0 && read.stdout.trim() === token;
    await o.pool.exec(h(src).ssh, ['rm', '-f', file], { allowFailure: true });
  }
  if (o.spec.vm.disk?.storage === 'shared' && report.sharedStorage === false) {
    report.problems.push({
      what: `vm.disk.storage is shared, but the disk image's folder is not one filesystem on ${src} and ${dst}: ${dst} would open a disk the source never wrote`,
      fix: 'put the image on storage both hosts mount (NFS), or set vm.disk.storage: local (the disk then moves with the VM)',
    });
  }
  return report;
}

/** The report as a user reads it: a block per host, a line per pair, each problem with its fix. */
export function formatHostsCheck(r: HostsCheckReport): string {
  const lines = [`campaign ${r.campaign}: ${r.hosts.length} hosts, ${r.pairs.length} pair${r.pairs.length === 1 ? '' : 's'}`];
  for (const h of r.hosts) {
    lines.push(`  ${h.host} (${h.address}): ${h.reachable ? 'SSH ok, host key verified' : 'not reachable'}`);
    if (h.reachable) {
      lines.push(`    ${h.hypervisorVersion ?? 'no hypervisor found'}; CPU ${h.cpuModel ?? '?'}; ${h.memAvailableMiB ?? '?'} MiB available`);
      if (h.accelerator) lines.push(`    guests under ${h.accelerator.accel.toUpperCase()}, CPU model ${h.accelerator.cpu}: ${h.accelerator.why}`);
    }
    for (const p of h.problems) lines.push(`    problem: ${p.what}\n      fix: ${p.fix}`);
  }
  for (const p of r.pairs) {
    const flags = p.cpuFlagsOnlySrc.length || p.cpuFlagsOnlyDst.length ? `CPU flags differ (${p.cpuFlagsOnlySrc.length} only on ${p.src}, ${p.cpuFlagsOnlyDst.length} only on ${p.dst})` : 'same CPU flags';
    const shared = p.sharedStorage === null ? 'storage sharing unknown (the image folder is not writable)' : p.sharedStorage ? "the guest image's folder is shared" : "the guest image's folder is not shared (each host has its own copy)";
    lines.push(`  pair ${p.src} → ${p.dst}: ${flags}; ${shared}`);
    for (const q of p.problems) lines.push(`    problem: ${q.what}\n      fix: ${q.fix}`);
  }
  lines.push(r.problems ? `${r.problems} problem${r.problems === 1 ? '' : 's'}: fix ${r.problems === 1 ? 'it' : 'them'} before \`miglab run\`` : 'no problems: the campaign can run on these hosts');
  return lines.join('\n');
}
