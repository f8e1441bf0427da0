/**
 * Whether a Xen host's dom0 is fit to run a trial: xl answers (xenstored and the toolstack are
 * alive), and no dom0 process has died of a segfault since miglab last found the host healthy. On
 * the nested bed, crashing dom0 processes broke migrations in ways that looked like Xen's
 * (corrupt stream records, dead save helpers; see docs/backends.md), so a trial is not started on
 * such a dom0: it fails with the reason, and the host stays refused until it is rebooted (its
 * kernel log starts again) or someone accepts its count.
 *
 * The count last found healthy is kept in dom0 itself (ACCEPTED_FILE under the run dir), so every
 * controller and every worker restart agrees on it.
 */
import { quote } from '../ssh/shell-quote.js';

export const ACCEPTED_FILE = 'dom0-segfaults.accepted';
/**
 * dom0's segfaults since boot: the health check's baseline and the move's count after it must be
 * read the same way, or the difference between them means nothing.
 */
export const SEGFAULT_COUNT = 'dmesg | grep -c segfault';
/** how long xl may take to list the domains before the toolstack counts as hung */
export const XL_TIMEOUT_S = 30;

/** One round trip: xl's answer, the segfaults logged since boot, the count last accepted, the last few crashes. */
export function healthScript(runDir: string): string {
  const accepted = quote(`${runDir}/${ACCEPTED_FILE}`);
  return [
    `mkdir -p ${quote(runDir)}`,
    // busybox and coreutils both take `timeout SECS PROG`; without timeout, xl runs unbounded
    `if command -v timeout >/dev/null 2>&1; then t="timeout ${XL_TIMEOUT_S}"; else t=; fi`,
    `err=$($t xl list 2>&1 >/dev/null); echo "xl=$?"`,
    `echo "$err" | tail -n 2 | sed 's/^/xlerr=/'`,
    `echo "segfaults=$(${SEGFAULT_COUNT})"`,
    `echo "accepted=$(cat ${accepted} 2>/dev/null)"`,
    `dmesg | grep segfault | tail -n 3 | sed 's/^/crash=/'`,
    'true',
  ].join('; ');
}

export interface Dom0Reading {
  /** xl list's exit code (124: timed out), null when the script did not get that far */
  xlExit: number | null;
  xlError: string;
  /** dmesg's segfault lines since boot; null when unreadable */
  segfaults: number | null;
  /** the count last found healthy; null when none was kept (first check since boot) */
  accepted: number | null;
  /** the kernel's last segfault lines, oldest first */
  crashes: string[];
}

export function parseDom0Reading(stdout: string): Dom0Reading {
  const lines = stdout.split('\n');
  const value = (k: string) => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1).trim();
  const num = (k: string) => {
    const v = value(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  const all = (k: string) => lines.filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1).trim()).filter(Boolean);
  return { xlExit: num('xl'), xlError: all('xlerr').join('; '), segfaults: num('segfaults'), accepted: num('accepted'), crashes: all('crash') };
}

export type Dom0Health =
  /** fit; `accept` is the count to keep as the new baseline when it differs from the kept one */
  | { healthy: true; segfaults: number | null; accept: number | undefined }
  | { healthy: false; reason: string };

/** The verdict on one reading of a host's dom0. */
export function judgeDom0(host: string, r: Dom0Reading, runDir: string): Dom0Health {
  if (r.xlExit === null) return { healthy: false, reason: `${host}'s dom0 did not finish the health check (no answer from xl list)` };
  if (r.xlExit !== 0) {
    const why = r.xlExit === 124 ? `did not answer within ${XL_TIMEOUT_S} s` : `exited ${r.xlExit}${r.xlError ? `: ${r.xlError}` : ''}`;
    return { healthy: false, reason: `${host}'s toolstack is not answering: xl list ${why}. Check xenstored and the Xen daemons in its dom0, or reboot the host` };
  }
  // Unreadable (no dmesg for this user): nothing to judge by; say so through the move's own record.
  if (r.segfaults === null) return { healthy: true, segfaults: null, accept: undefined };
  // None kept yet (first check since boot), or the log restarted (reboot, cleared, wrapped): a fresh baseline.
  if (r.accepted === null || r.segfaults < r.accepted) return { healthy: true, segfaults: r.segfaults, accept: r.segfaults };
  if (r.segfaults === r.accepted) return { healthy: true, segfaults: r.segfaults, accept: undefined };
  const n = r.segfaults - r.accepted;
  const last = r.crashes.length ? ` The kernel's last: ${r.crashes.slice(-Math.min(n, r.crashes.length)).join(' | ')}.` : '';
  return {
    healthy: false,
    reason:
      `${host}'s dom0 logged ${n} segfault${n > 1 ? 's' : ''} since miglab last found it healthy (${r.segfaults} since boot, ${r.accepted} accepted): ` +
      `a dom0 whose processes crash breaks migrations, so no trial starts there.${last} ` +
      `Reboot the host (on the bed: \`miglab lab down\`, then run again), or, once the crash is understood, accept the count: ` +
      `\`echo ${r.segfaults} > ${runDir}/${ACCEPTED_FILE}\` in its dom0`,
  };
}
