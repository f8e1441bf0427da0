import { describe, expect, it } from 'vitest';
import type { HostProvenance } from '../activities/host-provenance.js';
import { hostSummary } from '../cli/host-summary.js';

const host = (name: string, accelerator: string, over: Partial<HostProvenance> = {}): HostProvenance => ({
  host: name, kernel: '6.1.0-57-amd64', cpuModel: 'AMD EPYC', hypervisor: 'qemu', hypervisorVersion: 'QEMU emulator version 7.2.22', accelerator, guestCpu: 'qemu64', ...over,
});

describe('hostSummary', () => {
  it('names each host with its accelerator and says TCG is software emulation, naming the hosts that use it', () => {
    const lines = hostSummary([host('hosta', 'tcg'), host('hostb', 'kvm', { guestCpu: 'host' })], ['hosta', 'hostb']);
    expect(lines[0]).toBe('  hosta: QEMU emulator version 7.2.22; accelerator tcg, guest CPU qemu64; kernel 6.1.0-57-amd64');
    expect(lines[1]).toContain('hostb: QEMU emulator version 7.2.22; accelerator kvm, guest CPU host');
    expect(lines.at(-1)).toMatch(/^note: hosta runs guests under TCG, QEMU's software emulation/);
    expect(lines.at(-1)).not.toContain('hostb');
  });

  it('says nothing about TCG when no host uses it (KVM, Xen), and names hosts it could not describe', () => {
    const lines = hostSummary([host('x1', 'xen-pvh', { hypervisor: 'xen', hypervisorVersion: null, kernel: null })], ['x1', 'x2']);
    expect(lines).toEqual(['  x1: xen (version unknown); accelerator xen-pvh, guest CPU qemu64', '  x2: not described (SSH failed); trial rows will lack their provenance']);
  });
});
