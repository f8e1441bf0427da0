/**
 * A trial's migration tuning (XBZRLE, multifd, auto-converge from the start) as QMP capabilities
 * and parameters, and the check that a host's QEMU can honour each combination before a campaign
 * starts: a QEMU without a machine (`-M none`, no guest, no accelerator) is asked to set them.
 */
import type { MigrationTuning } from '../../workflows/trial-types.js';
import { quote } from '../ssh/shell-quote.js';

const MiB = 2 ** 20;

export interface TuningContext {
  postcopy: boolean;
  /** a local disk is mirrored first and the migration pauses before switchover */
  pauseBeforeSwitchover: boolean;
  /** the ladder's auto-converge rung, which overrides the tuning's */
  autoConverge?: { initialThrottle: number; increment: number } | null;
}

/** Every capability miglab sets, on or off: an attempt never inherits the one before it. */
export function migrationCapabilities(t: MigrationTuning | undefined, c: TuningContext): { capability: string; state: boolean }[] {
  const ac = c.autoConverge ?? t?.autoConverge ?? null;
  return [
    { capability: 'auto-converge', state: ac !== null },
    { capability: 'postcopy-ram', state: c.postcopy },
    // stop before switchover only to finish the disk copy while the guest writes nothing
    { capability: 'pause-before-switchover', state: c.pauseBeforeSwitchover },
    { capability: 'xbzrle', state: !!t?.xbzrleCacheMiB },
    { capability: 'multifd', state: !!t?.multifd },
  ];
}

/** The parameters beyond cap and limit (QEMU keeps the rest at its defaults). */
export function migrationParameters(t: MigrationTuning | undefined, c: Pick<TuningContext, 'autoConverge'>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  const ladder = c.autoConverge ?? null;
  const ac = ladder ?? t?.autoConverge ?? null;
  if (ac) {
    out['cpu-throttle-initial'] = ac.initialThrottle;
    out['cpu-throttle-increment'] = ac.increment;
    if (!ladder && t?.autoConverge) {
      out['max-cpu-throttle'] = t.autoConverge.maxThrottle;
      out['cpu-throttle-tailslow'] = t.autoConverge.tailslow;
    }
  }
  if (t?.xbzrleCacheMiB) out['xbzrle-cache-size'] = t.xbzrleCacheMiB * MiB;
  if (t?.multifd) {
    out['multifd-channels'] = t.multifd.channels;
    out['multifd-compression'] = t.multifd.compression;
  }
  // 0: no cap of its own (QEMU's default)
  if (t?.postcopy) out['max-postcopy-bandwidth'] = Math.round((t.postcopy.bandwidthMiBps ?? 0) * MiB);
  return out;
}

/** What the destination must be told before it listens: multifd's channels and compression must match the source's. */
export function incomingSettings(t: MigrationTuning | undefined, postcopy: boolean): { capabilities: { capability: string; state: boolean }[]; parameters: Record<string, number | string> } {
  return {
    capabilities: [
      { capability: 'postcopy-ram', state: postcopy },
      { capability: 'multifd', state: !!t?.multifd },
    ],
    parameters: t?.multifd ? { 'multifd-channels': t.multifd.channels, 'multifd-compression': t.multifd.compression } : {},
  };
}

/** A combination to check: the tuning and whether the campaign's ladder may switch to post-copy. */
export interface TuningCheck {
  label: string;
  tuning: MigrationTuning;
  postcopy: boolean;
}

/**
 * A shell command that starts a machine-less QEMU and, for each check, sets its capabilities and
 * parameters; QMP answers each command on a line of its own, in order.
 */
export function tuningProbeScript(qemu: string, checks: readonly TuningCheck[]): string {
  const lines = ['{"execute":"qmp_capabilities"}'];
  for (const c of checks) {
    lines.push(JSON.stringify({ execute: 'migrate-set-capabilities', arguments: { capabilities: migrationCapabilities(c.tuning, { postcopy: c.postcopy, pauseBeforeSwitchover: !!c.tuning.pauseBeforeSwitchover }) } }));
    lines.push(JSON.stringify({ execute: 'migrate-set-parameters', arguments: migrationParameters(c.tuning, {}) }));
  }
  lines.push('{"execute":"quit"}');
  return `printf '%s\\n' ${lines.map(quote).join(' ')} | timeout 30 ${quote(qemu)} -M none -nodefaults -display none -qmp stdio`;
}

/** The checks QEMU refused, each with its words; throws when the answers cannot be read at all. */
export function tuningProbeRefusals(checks: readonly TuningCheck[], stdout: string): { label: string; reason: string }[] {
  const answers = stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string })
    .filter((m) => !m.QMP && !m.event);
  // qmp_capabilities, two per check, quit
  if (answers.length < 1 + 2 * checks.length) throw new Error(`QEMU answered ${answers.length} of ${2 + 2 * checks.length} commands: ${stdout.slice(0, 300)}`);
  const out: { label: string; reason: string }[] = [];
  checks.forEach((c, i) => {
    const errors = [answers[1 + 2 * i]!, answers[2 + 2 * i]!].filter((a) => a.error).map((a) => a.error!.desc);
    if (errors.length) out.push({ label: c.label, reason: errors.join('; ') });
  });
  return out;
}
