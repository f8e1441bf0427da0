/**
 * Does KVM work on a host, for this guest and CPU model? `/dev/kvm` existing says little: on some
 * machines (nested, or with a broken module) QEMU opens it and then the guest hangs, or QEMU
 * refuses the CPU model. So the probe boots the campaign's own kernel under KVM, without an
 * initramfs, and waits (bounded) for the panic it must reach when it finds no root filesystem:
 * guest code that ran to that point ran. Under KVM that takes about a second.
 */
import type { SshPool, SshTarget } from '../ssh/pool.js';
import { commandLine, quote } from '../ssh/shell-quote.js';
import { qemuCpuArgs, type Accel, type AccelChoice, type GuestCpu } from './guest-cpu.js';

export const KVM_PROBE_TIMEOUT_S = 10;

export type KvmVerdict = { works: true; seconds: number } | { works: false; reason: string };

/** What the probe's output says; `rc` is the exit status of `timeout -s KILL … qemu-system-x86_64 …`. */
export function kvmVerdict(rc: number, output: string, seconds: number): KvmVerdict {
  if (rc === 0 && /Kernel panic - not syncing/.test(output)) return { works: true, seconds };
  if (rc === 137) return { works: false, reason: `the guest kernel printed nothing it should within ${KVM_PROBE_TIMEOUT_S} s under KVM (it hangs)` };
  if (rc === 3) return { works: false, reason: output.trim() || 'no usable /dev/kvm' };
  // QEMU's own complaint: its warnings name the CPU features the host lacks
  const said = output.split('\n').filter((l) => /qemu-system|error|warning/i.test(l)).map((l) => l.replace(/^qemu-system-x86_64: /, '').trim());
  return { works: false, reason: said.slice(0, 3).join('; ') || `QEMU exited with status ${rc} and no kernel panic` };
}

/** The probe's shell script: exit 3 with the reason when there is no usable /dev/kvm. */
export function kvmProbeScript(o: { qemu: string; kernel: string; cpu: string }): string {
  const qemu = commandLine([
    'timeout', '-s', 'KILL', KVM_PROBE_TIMEOUT_S,
    o.qemu, ...qemuCpuArgs({ accel: 'kvm', cpu: o.cpu }),
    '-machine', 'q35', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio', '-kernel', o.kernel, '-append', 'console=ttyS0 panic=-1',
  ]);
  return [
    'test -e /dev/kvm || { echo "no /dev/kvm (the kvm module is not loaded, or the CPU has no virtualisation extensions enabled)"; exit 3; }',
    'test -r /dev/kvm -a -w /dev/kvm || { echo "/dev/kvm is not readable and writable by $(id -un)"; exit 3; }',
    `test -r ${quote(o.kernel)} || { echo "the guest kernel ${o.kernel.replace(/[^A-Za-z0-9_./-]/g, '?')} is not readable here"; exit 3; }`,
    `start=$(date +%s%N); ${qemu} </dev/null 2>&1; rc=$?; echo "miglab-probe rc=$rc ms=$(( ($(date +%s%N) - start) / 1000000 ))"`,
  ].join('\n');
}

export async function probeKvm(pool: SshPool, ssh: SshTarget, o: { qemu?: string; kernel: string; cpu: string }): Promise<KvmVerdict> {
  const r = await pool.execShell(ssh, kvmProbeScript({ qemu: o.qemu ?? 'qemu-system-x86_64', kernel: o.kernel, cpu: o.cpu }), { allowFailure: true });
  if (r.code === 3) return kvmVerdict(3, r.stdout, 0);
  const m = /miglab-probe rc=(\d+) ms=(\d+)\s*$/.exec(r.stdout);
  if (!m) return { works: false, reason: `the probe did not finish (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-300)}` };
  return kvmVerdict(Number(m[1]), r.stdout.slice(0, m.index), Number(m[2]) / 1000);
}

/** What a host will run guests with, and why (for the run's output and its manifest). */
export interface ResolvedGuestCpu extends GuestCpu {
  why: string;
}

export type AccelResolution = { ok: true; guest: ResolvedGuestCpu } | { ok: false; reason: string };

/**
 * The accelerator a host gets for a campaign's choice: `tcg` as asked; `kvm` only where the probe
 * passed (otherwise an error with the reason); `auto` KVM where it passed, TCG elsewhere.
 */
export function resolveAccel(choice: AccelChoice, cpu: string, kvm: KvmVerdict | undefined): AccelResolution {
  const guest = (accel: Accel, why: string) => ({ ok: true as const, guest: { accel, cpu, why } });
  if (choice === 'tcg') {
    if (cpu === 'host') return { ok: false, reason: 'CPU model host needs KVM; vm.accel is tcg' };
    return guest('tcg', 'vm.accel: tcg');
  }
  if (!kvm) throw new Error('a KVM probe is needed for vm.accel ' + choice);
  if (kvm.works) return guest('kvm', `KVM works (the probe's guest ran in ${kvm.seconds.toFixed(1)} s)`);
  if (choice === 'kvm' || cpu === 'host') return { ok: false, reason: `KVM does not work with CPU model ${cpu}: ${kvm.reason}` };
  return guest('tcg', `KVM does not work with CPU model ${cpu} (${kvm.reason}): TCG instead`);
}
