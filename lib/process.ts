import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Alive and not a zombie. A zombie has exited already; only its parent has not reaped it (this
 * machine's init does not always reap daemonized children), so kill(pid, 0) alone would say alive.
 */
export function processAlive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** CPU seconds a process has used, user and system (utime and stime, in USER_HZ ticks: 100 on Linux); NaN once it is gone. */
export function processCpuS(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : NaN;
}

/** /proc/<pid>/stat's fields from the state on (after the command name, which may hold spaces), or undefined when there is no such process. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid a daemon wrote to its pid file, if the file holds one. */
export function pidFromFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * A pid file in a folder several controllers share (the results store): it names the machine
 * too, so that one controller never takes another machine's pid for a process of its own — nor
 * signals whatever process of its own happens to have that number.
 */
export function sharedPidLine(pid: number): string {
  return `${hostname()} ${pid}\n`;
}

/** The pid a shared pid file names when the process is this machine's (a bare pid, as written before, is). */
export function localPidFromSharedFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const [a, b] = readFileSync(path, 'utf8').trim().split(/\s+/);
  const [host, pidText] = b === undefined ? [hostname(), a] : [a, b];
  const pid = Number(pidText);
  return host === hostname() && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
