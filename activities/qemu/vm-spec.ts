/** A VM as plain data, and the QEMU command line that runs it on a bed host. */
import { dirname, join } from 'node:path';
import { qemuCpuArgs, type GuestCpu } from './guest-cpu.js';
import { quote } from '../ssh/shell-quote.js';

/** A lane's destination listens for the migration stream on this port + the lane's index. */
export const MIGRATION_PORT_BASE = 49152;
export const migrationPortOf = (lane: number): number => MIGRATION_PORT_BASE + lane;

export interface VmSpec {
  name: string;
  memoryMiB: number;
  vcpus: number;
  kernel: string;
  initrd: string;
  /** guest address with prefix, e.g. 198.18.0.100/24; the same on every host */
  guestCidr: string;
  mac: string;
  /** TCP port the destination listens on for the incoming migration stream */
  migrationPort: number;
  /**
   * The trial the VM belongs to. VMs of a lane share a name; with an owner, a trial never reuses
   * another's leftover VM and a stale trial's teardown never stops the VM of the trial after it.
   */
  owner?: string;
  /** a disk for the guest (virtio-blk, /dev/vda); none: the guest runs from its initramfs alone */
  disk?: VmDisk;
}

/**
 * Where a VM's disk lives while it moves. shared: both hosts open the same file (NFS on real
 * hosts, the bed's own filesystem here), so only RAM moves. local: each host keeps its own copy
 * and the disk is copied to the destination during the move (QEMU's NBD + blockdev-mirror).
 */
export type DiskStorage = 'shared' | 'local';

export interface VmDisk {
  /** the image the disk starts from, never written: every VM start writes to its own qcow2 overlay on it */
  image: string;
  format: 'qcow2' | 'raw';
  storage: DiskStorage;
  /** the guest's root filesystem is on the disk (the kernel gets root=/dev/vda) */
  root: boolean;
  /** shared: the folder every host sees where each VM's overlay is kept; default the image's folder */
  overlayDir?: string;
}

export interface VmFiles {
  qmp: string;
  pid: string;
  console: string;
  log: string;
  owner: string;
  /** the VM's disk when its storage is local: this host's own copy */
  localDisk: string;
}

/** Where a VM's files live on a host: under the host's run dir, so two hosts never share a socket. */
export const vmFiles = (runDir: string, vm: string): VmFiles => ({
  qmp: join(runDir, `${vm}.qmp`),
  pid: join(runDir, `${vm}.pid`),
  console: join(runDir, `${vm}.console.log`),
  log: join(runDir, `${vm}.qemu.log`),
  owner: join(runDir, `${vm}.owner`),
  localDisk: join(runDir, `${vm}.disk.qcow2`),
});

/** The file QEMU opens for a VM's disk on a host: the shared overlay, or this host's own copy. */
export function diskFile(spec: Pick<VmSpec, 'name'> & { disk: VmDisk }, files: Pick<VmFiles, 'localDisk'>): string {
  const d = spec.disk;
  return d.storage === 'local' ? files.localDisk : join(d.overlayDir ?? dirname(d.image), `${spec.name}.overlay.qcow2`);
}

/**
 * Shell commands that ready a VM's disk file before its QEMU (or libvirt) starts: a fresh start
 * writes to a new qcow2 overlay on the image; an incoming VM on shared storage opens the source's
 * overlay as it is, and on local storage gets an empty disk of the source's size, which the move fills.
 */
export function diskPrepCommands(spec: Pick<VmSpec, 'name'> & { disk: VmDisk }, files: Pick<VmFiles, 'localDisk'>, o: { incoming: boolean; diskBytes?: number }): string[] {
  const path = diskFile(spec, files);
  const commands = [`mkdir -p ${quote(dirname(path))}`];
  if (!o.incoming) commands.push(`qemu-img create -q -f qcow2 -F ${quote(spec.disk.format)} -b ${quote(spec.disk.image)} ${quote(path)}`);
  else if (spec.disk.storage === 'local') {
    if (o.diskBytes === undefined) throw new Error(`VM ${spec.name}: an incoming VM with a local disk needs the disk's size`);
    commands.push(`qemu-img create -q -f qcow2 ${quote(path)} ${o.diskBytes}`);
  }
  return commands;
}

/** The QEMU node names of a VM's disk: the qcow2 node the guest's device and the NBD export use. */
export const DISK_NODE = 'disk0';

/** The guest kernel's command line: its console, its name and address for the guest's init, its root disk if any. */
export const guestCmdline = (spec: Pick<VmSpec, 'name' | 'guestCidr' | 'disk'>): string =>
  `console=ttyS0 quiet panic=-1 miglab.name=${spec.name} miglab.ip=${spec.guestCidr}${spec.disk?.root ? ' root=/dev/vda rw' : ''}`;

/** A value inside a QEMU option list (`key=value,…`): a comma is written twice. */
const optValue = (v: string) => v.replaceAll(',', ',,');

/**
 * The disk's QEMU arguments: -blockdev (not -drive: only a -blockdev node can be exported
 * writable to an incoming migration's NBD server). On shared storage the host's page cache is
 * bypassed (cache.direct, what libvirt calls cache=none): otherwise the destination could read
 * blocks the source's cache has not written yet.
 */
export function diskArgs(spec: Pick<VmSpec, 'name'> & { disk: VmDisk }, files: Pick<VmFiles, 'localDisk'>): string[] {
  const direct = spec.disk.storage === 'shared' ? 'on' : 'off';
  return [
    '-blockdev', `driver=file,filename=${optValue(diskFile(spec, files))},node-name=${DISK_NODE}-file,cache.direct=${direct}`,
    '-blockdev', `driver=qcow2,file=${DISK_NODE}-file,node-name=${DISK_NODE},cache.direct=${direct}`,
    '-device', `virtio-blk-pci,drive=${DISK_NODE},id=vda`,
  ];
}

/** Tap names are limited to 15 characters; VM names are validated to fit. */
export const tapName = (vm: string): string => `tap-${vm}`.slice(0, 15);

const VM_NAME_RE = /^[a-z][a-z0-9-]{0,10}$/;
export function checkVmName(name: string): string | undefined {
  return VM_NAME_RE.test(name) ? undefined : 'use 1-11 lower-case letters, digits or dashes, starting with a letter';
}

export type QemuVersion = readonly [major: number, minor: number, micro: number];

/** Parses `qemu-system-x86_64 --version` ("QEMU emulator version 7.2.22 (Debian …)"). */
export function parseQemuVersion(text: string): QemuVersion | undefined {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/**
 * QEMU before 9.0 loses guest writes when it migrates a TCG guest: syncing the dirty bitmap a
 * word at a time (taken when a RAM block's size is a multiple of 64 pages) clears dirty bits
 * without making the vCPU's TLB record the next write, so pages written again between syncs
 * are never resent (QEMU commit 03bfc2188f, "Fix migration dirty bitmap coherency with TCG
 * memory access"). On the bed that killed guests after their move and made any working set seem
 * to converge. A RAM size that is not such a multiple (8 KiB more) sends QEMU down its per-page
 * path, which does reset the TLB. An unknown version gets the padding too: it costs nothing.
 */
export function needsDirtySyncPadding(version: QemuVersion | undefined): boolean {
  return version === undefined || version[0] < 9;
}

export const ramArg = (memoryMiB: number, version: QemuVersion | undefined): string =>
  needsDirtySyncPadding(version) ? `${memoryMiB * 1024 + 8}K` : `${memoryMiB}M`;

/**
 * QEMU arguments: the host's accelerator and guest CPU model; no display, no defaults; serial
 * console to a file; QMP on a Unix socket only. With `incoming`, QEMU waits for
 * `migrate-incoming` (the `defer` form lets the caller pick the listen address over QMP).
 */
export function qemuArgs(spec: VmSpec, files: VmFiles, opts: { incoming: boolean; ram: string; guest: GuestCpu; arrivePaused?: boolean }): string[] {
  const name = spec.name;
  const args = [
    '-name', `${name},process=miglab-${name}`,
    ...qemuCpuArgs(opts.guest),
    '-machine', 'q35',
    '-m', opts.ram,
    '-smp', String(spec.vcpus),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', `file:${files.console}`,
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', guestCmdline(spec),
    ...(spec.disk ? diskArgs({ name, disk: spec.disk }, files) : []),
    '-netdev', `tap,id=net0,ifname=${tapName(name)},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=net0,mac=${spec.mac},romfile=`,
    '-qmp', `unix:${files.qmp},server=on,wait=off`,
    '-pidfile', files.pid,
    '-D', files.log,
    '-daemonize',
  ];
  if (opts.incoming) args.push('-incoming', 'defer');
  // -S: the guest does not run on arrival until `cont` (its RAM stays as the migration left it)
  if (opts.incoming && opts.arrivePaused) args.push('-S');
  return args;
}
