/**
 * What miglab reads from `xl` (Xen's toolstack CLI). `xl list` prints a header and one row per
 * domain: Name, ID, Mem (MiB), VCPUs, State (six flags: r running, b blocked, p paused,
 * s shutdown, c crashed, d dying; `-` where unset), Time(s). During `xl migrate` the domain on the
 * destination is named NAME--incoming and, once the destination has it, the source's copy is
 * renamed NAME--migratedaway before it is destroyed.
 */
import type { VmState } from '../backend.js';

export interface XlDomain {
  name: string;
  id: number;
  memMiB: number;
  vcpus: number;
  /** the six state flags, e.g. "-b----" */
  flags: string;
  cpuSeconds: number;
}

const ROW = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([rbpscd-]{6})\s+([\d.]+)\s*$/;

export function parseXlList(text: string): XlDomain[] {
  const out: XlDomain[] = [];
  for (const line of text.split('\n')) {
    const m = ROW.exec(line.trim());
    if (!m) continue; // the header, blank lines
    out.push({ name: m[1]!, id: Number(m[2]), memMiB: Number(m[3]), vcpus: Number(m[4]), flags: m[5]!, cpuSeconds: Number(m[6]) });
  }
  return out;
}

export const INCOMING_SUFFIX = '--incoming';
export const MIGRATED_AWAY_SUFFIX = '--migratedaway';

/** Where a VM stands on a host, from that host's `xl list`. */
export function xenVmState(domains: readonly XlDomain[], vm: string): VmState {
  const d = domains.find((x) => x.name === vm);
  if (domains.some((x) => x.name === vm + INCOMING_SUFFIX)) return { kind: 'incoming' };
  if (!d) return domains.some((x) => x.name === vm + MIGRATED_AWAY_SUFFIX) ? { kind: 'migrated-away' } : { kind: 'absent' };
  if (d.flags.includes('c')) return { kind: 'paused', reason: 'crashed' };
  if (d.flags.includes('s') || d.flags.includes('d')) return { kind: 'paused', reason: 'shutting down' };
  if (d.flags.includes('p')) return { kind: 'paused', reason: 'paused' };
  return { kind: 'running' };
}

/** The VM names on a host, each once (a migration's --incoming / --migratedaway copies fold into their VM). */
export function vmNames(domains: readonly XlDomain[]): string[] {
  const names = domains
    .filter((d) => d.id !== 0)
    .map((d) => d.name.replace(new RegExp(`(${INCOMING_SUFFIX}|${MIGRATED_AWAY_SUFFIX})$`), ''));
  return [...new Set(names)];
}

/** The lines of an `xl migrate` log that say why it failed (xl and libxl/libxc errors). */
export function migrateErrors(log: string): string {
  // The destination's own account comes back through the transport as "migration target: …".
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => (/error|failed|cannot|refus/i.test(l) || /^migration target:.*(fail|error)/i.test(l)) && !/debug:/.test(l));
  return lines.slice(-6).join('; ');
}
