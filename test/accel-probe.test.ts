/**
 * The KVM probe's verdicts on outputs recorded on this machine (2026-12-01, QEMU 7.2, /dev/kvm
 * present but unusable), and how a campaign's vm.accel resolves from them.
 */
import { describe, expect, it } from 'vitest';
import { kvmProbeScript, kvmVerdict, resolveAccel, type KvmVerdict } from '../activities/qemu/accel-probe.js';
import { accelMismatch, cpuFlagsApart, hostCpuMismatch, parseHostCpu } from '../cli/guest-accel.js';

const PNI =
  'qemu-system-x86_64: warning: host doesn\'t support requested feature: CPUID.01H:ECX.pni [bit 0]\nqemu-system-x86_64: Host doesn\'t support requested features\n';
const MSR =
  "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n";
const PANIC = '[    0.000000] Linux version 6.1.0\n[    0.912000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n';

describe('KVM probe verdict', () => {
  it('works only when the guest kernel reached its panic and QEMU exited', () => {
    expect(kvmVerdict(0, PANIC, 0.9)).toEqual({ works: true, seconds: 0.9 });
    // exit 0 with no panic: QEMU quit before the guest ran (e.g. too little memory to boot)
    expect(kvmVerdict(0, '', 0.1)).toEqual({ works: false, reason: 'QEMU exited with status 0 and no kernel panic' });
  });

  it('names what QEMU refused: a CPU model feature the host lacks under KVM, a failed MSR write', () => {
    expect(kvmVerdict(1, PNI, 0.05)).toEqual({ works: false, reason: "warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]; Host doesn't support requested features" });
    expect(kvmVerdict(134, MSR, 0.05)).toMatchObject({ works: false, reason: expect.stringMatching(/^error: failed to set MSR 0x10a/) });
  });

  it('says the guest hangs when the timeout killed QEMU, and passes on a missing /dev/kvm as said', () => {
    expect(kvmVerdict(137, '', 10)).toEqual({ works: false, reason: 'the guest kernel printed nothing it should within 10 s under KVM (it hangs)' });
    expect(kvmVerdict(3, 'no /dev/kvm (the kvm module is not loaded, or the CPU has no virtualisation extensions enabled)\n', 0)).toMatchObject({ reason: /^no \/dev\/kvm/ });
  });

  it('boots the given kernel under KVM with the model enforced, bounded by a KILL timeout, every argument quoted', () => {
    const s = kvmProbeScript({ qemu: 'qemu-system-x86_64', kernel: "/srv/guest's/vmlinuz", cpu: 'Skylake-Server' });
    expect(s).toContain("timeout -s KILL 10 qemu-system-x86_64 -accel kvm -cpu Skylake-Server,enforce");
    expect(s).toContain("-kernel '/srv/guest'\\''s/vmlinuz'");
    expect(s).toContain("test -r '/srv/guest'\\''s/vmlinuz'");
  });
});

describe('vm.accel resolved from the probe', () => {
  const works: KvmVerdict = { works: true, seconds: 0.8 };
  const fails: KvmVerdict = { works: false, reason: 'no /dev/kvm' };

  it('auto: KVM where it works, TCG elsewhere, saying why', () => {
    expect(resolveAccel('auto', 'qemu64', works)).toEqual({ ok: true, guest: { accel: 'kvm', cpu: 'qemu64', why: "KVM works (the probe's guest ran in 0.8 s)" } });
    expect(resolveAccel('auto', 'qemu64', fails)).toEqual({ ok: true, guest: { accel: 'tcg', cpu: 'qemu64', why: 'KVM does not work with CPU model qemu64 (no /dev/kvm): TCG instead' } });
  });

  it('kvm: refused where the probe failed; host: refused without KVM, even under auto', () => {
    expect(resolveAccel('kvm', 'qemu64', fails)).toEqual({ ok: false, reason: 'KVM does not work with CPU model qemu64: no /dev/kvm' });
    expect(resolveAccel('auto', 'host', fails)).toEqual({ ok: false, reason: 'KVM does not work with CPU model host: no /dev/kvm' });
    expect(resolveAccel('kvm', 'host', works)).toMatchObject({ ok: true, guest: { accel: 'kvm', cpu: 'host' } });
  });

  it('tcg: needs no probe, and cannot pass the host CPU through', () => {
    expect(resolveAccel('tcg', 'qemu64', undefined)).toEqual({ ok: true, guest: { accel: 'tcg', cpu: 'qemu64', why: 'vm.accel: tcg' } });
    expect(resolveAccel('tcg', 'host', undefined)).toEqual({ ok: false, reason: 'CPU model host needs KVM; vm.accel is tcg' });
  });
});

describe('a pair as run and hosts check judge it (cli/guest-accel.ts)', () => {
  const cpu = (model: string, flags: string) => parseHostCpu([`model: ${model}`, `flags: ${flags}`, 'missing: other lines are ignored']);

  it('host CPU: the same model and flags pass; otherwise each side says what the other lacks', () => {
    expect(hostCpuMismatch('a', cpu('EPYC', 'sse3 avx'), 'b', cpu('EPYC', 'avx sse3'))).toBeUndefined();
    expect(hostCpuMismatch('a', cpu('EPYC', 'sse3 avx avx512f'), 'b', cpu('Xeon', 'sse3 avx vmx'))).toBe('CPU model host needs identical CPUs; a has EPYC (+avx512f), b Xeon (+vmx)');
    expect(cpuFlagsApart(cpu('x', 'a b'), cpu('x', 'b c'))).toEqual({ onlyA: ['a'], onlyB: ['c'] });
  });

  it('accelerators: a KVM host beside a TCG host is named, with why the TCG one is', () => {
    const kvm = { accel: 'kvm' as const, cpu: 'qemu64', why: 'KVM works' };
    const tcg = { accel: 'tcg' as const, cpu: 'qemu64', why: 'KVM does not work with CPU model qemu64 (no /dev/kvm): TCG instead' };
    expect(accelMismatch('a', kvm, 'b', kvm)).toBeUndefined();
    expect(accelMismatch('a', kvm, 'b', tcg)).toBe('a would run guests under KVM, b under TCG (KVM does not work with CPU model qemu64 (no /dev/kvm): TCG instead)');
  });
});
