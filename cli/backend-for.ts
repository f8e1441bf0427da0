/**
 * The hypervisor backend a campaign's file asks for, on its site: QEMU driven directly (QMP), or
 * libvirt (virsh). On a bed, libvirt's peer connections use the bed's key and known_hosts, and its
 * domains run QEMU through a wrapper that pads their RAM where QEMU needs it (lab/qemu-padded.sh).
 */
import type { HypervisorBackend } from '../activities/backend.js';
import type { GuestCpu } from '../activities/qemu/guest-cpu.js';
import { LibvirtBackend } from '../activities/libvirt/backend.js';
import { QemuBackend } from '../activities/qemu/backend.js';
import { needsDirtySyncPadding, parseQemuVersion } from '../activities/qemu/vm-spec.js';
import type { SshPool } from '../activities/ssh/pool.js';
import { peerSshPath, type BedInventory } from '../lab/bed.js';
import type { Site } from '../lab/site.js';
import { run } from '../lib/exec.js';
import { QEMU_WRAPPER } from '../lab/libvirtd.js';
import { XenBackend } from '../activities/xen/backend.js';
import { XEN_SHARED_DIR } from '../lab/xen-hosts.js';
import { RoutedBackend } from '../activities/routed-backend.js';
import { hostKind, type LanePair } from '../campaign/pairs.js';
import type { Hypervisor } from '../campaign/spec.js';

/** where a campaign's own Xen hosts keep offline migrations' save images: storage they share */
export const XEN_OWN_HOSTS_SHARED_DIR = '/var/lib/miglab/shared';

export type { Hypervisor };

/**
 * The backend a campaign's worker drives its hosts with: the campaign's hypervisor, or, when its
 * pairs run several (QEMU pairs beside libvirt pairs), each host's own — a host in no pair takes
 * the campaign's.
 */
export async function backendForLanes(lanes: readonly LanePair[], hypervisor: Hypervisor, site: Site, bed: BedInventory | undefined, pool: SshPool, guestCpu?: Readonly<Record<string, GuestCpu>>): Promise<HypervisorBackend> {
  const kinds = new Set([hypervisor, ...lanes.map((l) => l.hypervisor)]);
  if (kinds.size === 1) return backendFor(hypervisor, site, bed, pool, guestCpu);
  const backends = new Map<Hypervisor, HypervisorBackend>();
  for (const k of kinds) backends.set(k, await backendFor(k, site, bed, pool, guestCpu));
  const kindOf = hostKind(lanes, hypervisor);
  return new RoutedBackend((host) => backends.get(kindOf(host))!);
}

/**
 * `guestCpu`: each host's accelerator and CPU model for QEMU and libvirt guests, as resolved before
 * the campaign started (cli/guest-accel.ts).
 */
export async function backendFor(hypervisor: Hypervisor, site: Site, bed: BedInventory | undefined, pool: SshPool, guestCpu?: Readonly<Record<string, GuestCpu>>): Promise<HypervisorBackend> {
  const guest = guestCpu ? { guestCpu } : {};
  switch (hypervisor) {
    case 'qemu':
      return new QemuBackend({ pool, hosts: site.hosts, ...guest });
    case 'libvirt': {
      if (!bed) {
        // The hosts' own SSH set-up (root's keys and known_hosts) carries libvirt's peer connection.
        return new LibvirtBackend({ pool, hosts: site.hosts, ...guest, peerUri: (d) => `qemu+ssh://${d.ssh.user}@${d.ip}:${d.ssh.port}/system` });
      }
      const version = parseQemuVersion((await run('qemu-system-x86_64', ['--version']).catch(() => ({ stdout: '' }))).stdout);
      return new LibvirtBackend({
        pool,
        hosts: site.hosts,
        ...guest,
        ...(needsDirtySyncPadding(version) ? { emulator: QEMU_WRAPPER } : {}),
        peerUri: (d) => `qemu+ssh://root@${d.ip}/system?command=${peerSshPath(bed.plan.bed)}&no_tty=1`,
      });
    }
    case 'xen':
      if (!bed) {
        // Real Xen hosts: xl's own defaults (ssh, vif-bridge); the save images of offline
        // migrations go to storage every host mounts at the same path.
        return new XenBackend({ pool, hosts: site.hosts, sharedDir: XEN_OWN_HOSTS_SHARED_DIR });
      }
      // The bed's Xen hosts: dom0s reach each other with dropbear's client and their own key, the
      // guest's NIC joins dom0's bridge through the bed's hotplug script, and the guest does not
      // see rdtscp (see domain-config.ts).
      return new XenBackend({
        pool,
        hosts: site.hosts,
        sharedDir: XEN_SHARED_DIR,
        sshCommand: 'dbclient -i /root/.ssh/id_dropbear',
        vifScript: '/etc/xen/scripts/vif-bed',
        hideCpuid: ['rdtscp'],
      });
  }
}
