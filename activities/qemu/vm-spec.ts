/** A VM as plain data, and the QEMU command line that runs it on a bed host. */
import { join } from 'node:path';
import { qemuCpuArgs, type GuestCpu } from './guest-cpu.js';

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
}

export interface VmFiles {
  qmp: string;
  pid: string;
  console: string;
  log: string;
  owner: string;
}

/** Where a VM's files live on a host: under the host's run dir, so two hosts never share a socket. */
export const vmFiles = (runDir: string, vm: string): VmFiles => ({
  qmp: join(runDir, `${vm}.qmp`),
  pid: join(runDir, `${vm}.pid`),
  console: join(runDir, `${vm}.console.log`),
  log: join(runDir, `${vm}.qemu.log`),
  owner: join(runDir, `${vm}.owner`),
});

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
    '-append', `console=ttyS0 quiet panic=-1 miglab.name=${name} miglab.ip=${spec.guestCidr}`,
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
