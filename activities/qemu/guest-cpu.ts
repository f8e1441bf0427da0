/**
 * How a QEMU guest's code runs on a host: the accelerator (KVM, or TCG — QEMU's software
 * emulation) and the CPU model the guest is given. Resolved per host before a campaign starts
 * (see accel-probe.ts); both hosts of a pair run the same.
 */

export type Accel = 'kvm' | 'tcg';

/** What a campaign asks for: `auto` takes KVM where it works and TCG elsewhere. */
export type AccelChoice = Accel | 'auto';

export interface GuestCpu {
  accel: Accel;
  /** a QEMU CPU model name (`qemu64`, `Skylake-Server`, …), or `host` (KVM only: the host's own CPU) */
  cpu: string;
}

/** A model every x86-64 host has, under either accelerator: the default, as migration-safe as it gets. */
export const DEFAULT_CPU_MODEL = 'qemu64';

/** What guests ran with before the accelerator was a setting (and campaigns started then still do). */
export const TCG_DEFAULT: GuestCpu = { accel: 'tcg', cpu: DEFAULT_CPU_MODEL };

/**
 * QEMU's arguments for it. A named model under KVM gets `enforce`: QEMU refuses to start rather
 * than quietly give the guest fewer features than the model names (which would differ per host).
 */
export function qemuCpuArgs(g: GuestCpu): string[] {
  return ['-accel', g.accel, '-cpu', g.accel === 'kvm' && g.cpu !== 'host' ? `${g.cpu},enforce` : g.cpu];
}

/** libvirt's domain type and <cpu> element for it (type `qemu` is TCG). */
export function libvirtCpu(g: GuestCpu): { domainType: 'kvm' | 'qemu'; cpuXml: string } {
  const cpuXml =
    g.cpu === 'host'
      ? "<cpu mode='host-passthrough' check='none'/>"
      : `<cpu mode='custom' match='exact'${g.accel === 'kvm' ? " check='full'" : ''}><model fallback='forbid'>${g.cpu}</model></cpu>`;
  return { domainType: g.accel === 'kvm' ? 'kvm' : 'qemu', cpuXml };
}
