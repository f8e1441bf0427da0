/**
 * Where a campaign runs, from its file: the bed it names (brought up, or read when only looking),
 * or its own hosts. Also the VM each lane (host pair) migrates, and a check that a campaign's own
 * hosts can be reached and hold the guest before anything starts.
 */
import { join } from 'node:path';
import { DEFAULT_BED, labUp, readInventory, type BedInventory } from '../lab/bed.js';
import { guestMac } from '../lab/addressing.js';
import { labVmSpec } from '../lab/guest.js';
import { debianVmSpec, requireDebianGuest } from '../lab/debian-guest.js';
import { XEN_SHARED_DIR } from '../lab/xen-hosts.js';
import type { Site } from '../lab/site.js';
import type { LoadedCampaign } from '../campaign/load.js';
import { migrationPortOf, type VmSpec } from '../activities/qemu/vm-spec.js';
import { HostKeyError, type SshPool } from '../activities/ssh/pool.js';
import { commandLine } from '../activities/ssh/shell-quote.js';
import { UserError } from '../lib/errors.js';
import { hypervisorsOf, lanePairs, onlyXen, type LanePair } from '../campaign/pairs.js';

export interface CampaignSite {
  site: Site;
  /** the bed, when the campaign runs on one */
  bed: BedInventory | undefined;
  /** the VM lane i (pair i) migrates */
  vmSpec(lane: number): VmSpec;
}

/** A campaign's own hosts as a site: nothing is started, nothing is asked of the hosts yet. */
export function hostsSite(loaded: LoadedCampaign): CampaignSite {
  const { spec, resolvePath } = loaded;
  const guest = spec.vm.guest!;
  const site: Site = {
    hosts: spec.hosts!.map((h) => ({
      name: h.name,
      ip: h.address,
      bridge: h.bridge,
      runDir: h.runDir,
      ssh: { host: h.address, port: h.port, user: h.user, privateKeyPath: resolvePath(h.key), knownHostsPath: resolvePath(h.knownHosts) },
    })),
    privateKey: resolvePath(guest.key),
    knownHosts: resolvePath(guest.knownHosts),
    probeVia: spec.probe.interface,
  };
  return {
    site,
    bed: undefined,
    vmSpec: (lane) => {
      const cidr = guest.addresses[lane]!;
      return {
        name: `mvm${lane}`,
        memoryMiB: spec.vm.memoryMiB,
        vcpus: spec.vm.vcpus,
        kernel: guest.kernel,
        initrd: guest.initrd,
        guestCidr: cidr,
        mac: guestMac(cidr.split('/')[0]!),
        migrationPort: migrationPortOf(lane),
        ...(spec.vm.disk ? { disk: { image: spec.vm.disk.image!, format: spec.vm.disk.format, storage: spec.vm.disk.storage, root: true } } : {}),
      };
    },
  };
}

function bedSite(bed: BedInventory, loaded: LoadedCampaign): CampaignSite {
  const { vm } = loaded.spec;
  const plain = (lane: number) => labVmSpec(bed, lane, { name: `mvm${lane}`, memoryMiB: vm.memoryMiB, vcpus: vm.vcpus });
  // With a disk, the bed's guest is the Debian image; shared overlays live in the bed's own folder.
  const disk = vm.disk;
  const spec = disk ? (lane: number) => debianVmSpec(plain(lane), requireDebianGuest(), disk.storage, join(bed.dir, 'disks')) : plain;
  const lanes = lanePairs(loaded.spec, bed.plan.hosts.map((h) => h.name));
  const xenHosts = xenLaneHosts(lanes);
  if (!xenHosts.size) return { site: bed, bed, vmSpec: spec };
  // A Xen pair's hosts are the Xen hosts booted on those bed hosts (reached at their dom0s, under
  // the bed host's name), and its guest image is the copy in their shared folder.
  const booted = new Map((bed.xen?.hosts ?? []).map((h) => [h.name, h]));
  const missing = [...xenHosts].filter((h) => !booted.has(h));
  if (missing.length) throw new UserError(`bed "${bed.plan.bed}" has no Xen host on ${missing.join(', ')}`, `run \`miglab lab up --xen${bed.plan.bed === 'lab' ? '' : ` --bed ${bed.plan.bed}`}\``);
  // every trial on Xen: only the Xen hosts (the bed's other hosts run nothing of the campaign's)
  const allXen = onlyXen(loaded.spec);
  const site: Site = { ...bed, hosts: bed.hosts.flatMap((h) => (xenHosts.has(h.name) ? [booted.get(h.name)!] : allXen ? [] : [h])) };
  return {
    site,
    bed,
    vmSpec: (lane) => (lanes[lane]?.hypervisor === 'xen' ? { ...spec(lane), kernel: `${XEN_SHARED_DIR}/guest/vmlinuz`, initrd: `${XEN_SHARED_DIR}/guest/initrd.img` } : spec(lane)),
  };
}

/** The bed hosts a campaign reaches at their Xen hosts: those of its Xen lanes (a Xen campaign without pairs: the first two hosts). */
function xenLaneHosts(lanes: readonly LanePair[]): Set<string> {
  return new Set(lanes.filter((l) => l.hypervisor === 'xen').flatMap((l) => [l.src, l.dst]));
}

/**
 * The hosts a campaign's bed needs: the layout it is already up with when that has every host the
 * pairs name (a bed of four brought up by hand serves a campaign of one pair), else the default
 * hosts and those the pairs name.
 */
async function bedHostsFor(bed: string, pairs: LoadedCampaign['spec']['pairs']): Promise<string[]> {
  const named = [...new Set([...DEFAULT_BED.hosts, ...(pairs ?? []).flatMap((p) => [p[0], p[1]])])];
  const existing = await readInventory(bed).catch(() => undefined);
  const up = existing?.plan.hosts.map((h) => h.name);
  return up && named.every((h) => up.includes(h)) ? up : named;
}

/** For running: brings the campaign's bed up (idempotent), or takes its own hosts. */
export async function siteToRun(loaded: LoadedCampaign, opts: { bedSubnet?: string; log: (l: string) => void }): Promise<CampaignSite> {
  const { spec } = loaded;
  if (!spec.bed) return hostsSite(loaded);
  const hosts = await bedHostsFor(spec.bed, spec.pairs);
  const xen = [...xenLaneHosts(lanePairs(spec, hosts))];
  return bedSite(await labUp({ bed: spec.bed, ...(opts.bedSubnet ? { subnet: opts.bedSubnet } : {}), hosts, libvirt: hypervisorsOf(spec).includes('libvirt'), ...(xen.length ? { xen } : {}) }, (l) => opts.log(`  ${l}`)), loaded);
}

/** For looking (verify): the bed as it is, never brought up. */
export async function siteToInspect(loaded: LoadedCampaign): Promise<CampaignSite> {
  return loaded.spec.bed ? bedSite(await readInventory(loaded.spec.bed), loaded) : hostsSite(loaded);
}

/**
 * Before anything starts on a campaign's own hosts: each must answer SSH with the key its
 * known_hosts lists, have the program that runs the VMs (`qemu`: QEMU, or `xl` on Xen hosts),
 * and hold the guest's kernel and initrd (and disk image); each problem names the host and the fix.
 */
export async function checkHosts(cs: CampaignSite, pool: SshPool, programOf: (host: string) => string = () => 'qemu-system-x86_64'): Promise<void> {
  const vm = cs.vmSpec(0);
  const problems: string[] = [];
  for (const h of cs.site.hosts) {
    const qemu = programOf(h.name);
    const where = `host ${h.name} (${h.ssh.user}@${h.ip}:${h.ssh.port})`;
    try {
      const r = await pool.execShell(
        h.ssh,
        `command -v ${commandLine([qemu])} >/dev/null || echo "no ${qemu}"; for f in ${commandLine([vm.kernel, vm.initrd, ...(vm.disk ? [vm.disk.image] : [])])}; do test -r "$f" || echo "no $f"; done; ip link show dev ${commandLine([h.bridge])} >/dev/null 2>&1 || echo "no bridge ${h.bridge}"`,
      );
      const missing = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
      for (const m of missing) problems.push(`${where}: ${m.replace(/^no /, 'missing: ')}`);
    } catch (err) {
      problems.push(err instanceof HostKeyError ? `${where}: ${err.message}` : `${where} cannot be reached: ${(err as Error).message}`);
    }
  }
  if (problems.length) {
    throw new UserError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} with the campaign's hosts, nothing was started:\n  ${problems.join('\n  ')}`,
      'check each host\'s address, port, user and key, that its known_hosts lists it, that QEMU is installed and the guest image is at vm.guest.kernel/initrd (and vm.disk.image), and that the bridge exists',
    );
  }
}
