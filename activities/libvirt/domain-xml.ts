/**
 * A VM spec as a libvirt domain: the same machine the QEMU backend starts (q35, its CPU model, direct
 * kernel boot, its disk if it has one, virtio NIC on the host's bridge, serial console to a file), with the trial that owns
 * it in the domain's metadata.
 */
import { guestCmdline, type VmSpec } from '../qemu/vm-spec.js';
import { libvirtCpu, type GuestCpu } from '../qemu/guest-cpu.js';

/** Namespace of miglab's element in a domain's <metadata> (`virsh metadata <vm> <uri>`). */
export const METADATA_URI = 'https://miglab.invalid/xmlns/vm/1';

const esc = (s: string | number) =>
  String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export interface DomainOptions {
  bridge: string;
  console: string;
  /** the accelerator (domain type kvm, or qemu for TCG) and the guest's CPU model */
  guest: GuestCpu;
  /** the QEMU binary libvirt runs; default: libvirt's own choice */
  emulator?: string;
  /** the file of the VM's disk on this host (spec.disk's overlay or local copy) */
  diskFile?: string;
}

export function domainXml(spec: VmSpec, o: DomainOptions): string {
  const cmdline = guestCmdline(spec);
  if (spec.disk && o.diskFile === undefined) throw new Error(`VM ${spec.name} has a disk but no disk file was given`);
  // shared storage: cache none (the host's page cache bypassed, as libvirt wants for a migration)
  const disk = spec.disk && o.diskFile !== undefined
    ? [`    <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='${spec.disk.storage === 'shared' ? 'none' : 'writeback'}'/><source file='${esc(o.diskFile)}'/><target dev='vda' bus='virtio'/></disk>`]
    : [];
  const { domainType, cpuXml } = libvirtCpu(o.guest);
  return [
    `<domain type='${domainType}'>`,
    `  <name>${esc(spec.name)}</name>`,
    ...(spec.owner !== undefined ? [`  <metadata><miglab:vm xmlns:miglab='${METADATA_URI}'><miglab:owner>${esc(spec.owner)}</miglab:owner></miglab:vm></metadata>`] : []),
    `  <memory unit='MiB'>${spec.memoryMiB}</memory>`,
    `  <vcpu>${spec.vcpus}</vcpu>`,
    "  <os><type arch='x86_64' machine='q35'>hvm</type>",
    `    <kernel>${esc(spec.kernel)}</kernel><initrd>${esc(spec.initrd)}</initrd>`,
    `    <cmdline>${esc(cmdline)}</cmdline></os>`,
    `  ${cpuXml}`,
    '  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>',
    '  <devices>',
    ...(o.emulator ? [`    <emulator>${esc(o.emulator)}</emulator>`] : []),
    ...disk,
    `    <interface type='bridge'><source bridge='${esc(o.bridge)}'/><mac address='${esc(spec.mac)}'/><model type='virtio'/><rom enabled='no'/></interface>`,
    `    <serial type='file'><source path='${esc(o.console)}'/><target port='0'/></serial>`,
    "    <memballoon model='none'/>",
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

/** The owner in `virsh metadata` output, if there is one. */
export function ownerFromMetadata(xml: string): string | undefined {
  const m = /<(?:\w+:)?owner>([^<]*)<\/(?:\w+:)?owner>/.exec(xml);
  return m ? m[1]!.replace(/&(lt|gt|amp|apos|quot);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e]!) : undefined;
}
