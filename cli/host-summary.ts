/**
 * What `miglab run` says about the hosts before the first trial: each host's hypervisor version,
 * accelerator and guest CPU, so nobody reads software-emulated times as KVM's without being told.
 */
import type { HostProvenance } from '../activities/host-provenance.js';

export function hostSummary(hosts: readonly HostProvenance[], expected: readonly string[]): string[] {
  const lines = hosts.map((h) => `  ${h.host}: ${h.hypervisorVersion ?? `${h.hypervisor} (version unknown)`}; accelerator ${h.accelerator}, guest CPU ${h.guestCpu}${h.kernel ? `; kernel ${h.kernel}` : ''}`);
  const missing = expected.filter((name) => !hosts.some((h) => h.host === name));
  if (missing.length) lines.push(`  ${missing.join(', ')}: not described (SSH failed); trial rows will lack their provenance`);
  const tcg = hosts.filter((h) => h.accelerator === 'tcg').map((h) => h.host);
  if (tcg.length) {
    lines.push(
      `note: ${tcg.join(', ')} run${tcg.length === 1 ? 's' : ''} guests under TCG, QEMU's software emulation: migration times are not what KVM would give ` +
        '(the accelerator lines above say why); every trial row records its accelerator.',
    );
  }
  return lines;
}
