/** A VM as plain data, and the QEMU command line that runs it on a bed host. */
import { join } from 'node:path';

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

/**
 * QEMU arguments. TCG, not KVM (/dev/kvm is unusable here); no display, no defaults; serial
 * console to a file; QMP on a Unix socket only. With `incoming`, QEMU waits for
 * `migrate-incoming` (the `defer` form lets the caller pick the listen address over QMP).
 */
export function qemuArgs(spec: VmSpec, files: VmFiles, opts: { incoming: boolean }): string[] {
  const name = spec.name;
  const args = [
    '-name', `${name},process=miglab-${name}`,
    '-accel', 'tcg',
    '-machine', 'q35',
    '-cpu', 'qemu64',
    '-m', `${spec.memoryMiB}M`,
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
  return args;
}
