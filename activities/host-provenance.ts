/**
 * What a host ran a trial with, for the record: kernel, CPU model, the hypervisor and its version,
 * the accelerator and the guest CPU model miglab asked for. Read over SSH once per host and worker.
 */
import type { SshPool, SshTarget } from './ssh/pool.js';
import { quote } from './ssh/shell-quote.js';

export interface HostProvenance {
  host: string;
  kernel: string | null;
  cpuModel: string | null;
  hypervisor: 'qemu' | 'libvirt' | 'xen';
  /** e.g. "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)", "libvirt 9.0.0 / QEMU …", "Xen 4.17.6" */
  hypervisorVersion: string | null;
  /** how guest code runs: tcg (software emulation), kvm, or Xen's guest type */
  accelerator: string;
  /** the CPU model the guest was given */
  guestCpu: string;
}

/** One SSH round trip: `uname -r`, the CPU's model name, then each version command's first line. */
export async function readHost(pool: SshPool, ssh: SshTarget, versionCommands: readonly string[]): Promise<{ kernel: string | null; cpuModel: string | null; versions: (string | null)[] }> {
  const script = [
    'uname -r',
    "sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1",
    ...versionCommands.map((c) => `{ ${c}; } 2>/dev/null | head -n 1`),
  ].map((c) => `echo "$(${c})"`).join('; ');
  const r = await pool.execShell(ssh, script, { allowFailure: true });
  const lines = r.stdout.split('\n');
  const at = (i: number) => lines[i]?.trim() || null;
  return { kernel: at(0), cpuModel: at(1), versions: versionCommands.map((_, i) => at(2 + i)) };
}

export const qemuVersionCommand = (qemu: string) => `${quote(qemu)} --version`;
