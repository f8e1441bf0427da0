import { existsSync, readFileSync } from 'node:fs';

/**
 * Alive and not a zombie. A zombie has exited already; only its parent has not reaped it (this
 * machine's init does not always reap daemonized children), so kill(pid, 0) alone would say alive.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return stat.slice(close + 2, close + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid a daemon wrote to its pid file, if the file holds one. */
export function pidFromFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
