/**
 * Who holds a TCP port on a host, for the error of a migration whose destination could not listen
 * on it. Each lane's migration port is fixed (49152 + lane) and lies in Linux's default ephemeral
 * range, so any outgoing connection on the destination may take it; the error then names the
 * sockets, which tell the user whether to wait or to reserve the ports.
 */
import type { SshPool } from './ssh/pool.js';
import type { QemuHost } from './qemu/backend.js';
import { nbdPort } from './qemu/disk-move.js';
import type { VmSpec } from './qemu/vm-spec.js';

/** QEMU's words (both backends pass them on) for a listen address whose port is taken. */
export const PORT_IN_USE = /Address already in use/i;

/** `ss`'s command for every TCP socket whose local port is one of `ports`, with its process where ss may say. */
export const portHoldersCommand = (ports: readonly number[]): string =>
  `ss -Htanp '${ports.map((p) => `sport = :${Math.trunc(p)}`).join(' or ')}' 2>/dev/null || echo '(ss could not be run here)'`;

/** The error, followed by the sockets ss lists on the ports on the host (or that it lists none). */
export async function withPortHolders(pool: SshPool, host: QemuHost, ports: readonly number[], error: string): Promise<string> {
  const r = await pool.execShell(host.ssh, portHoldersCommand(ports), { allowFailure: true }).catch(() => undefined);
  if (!r) return error;
  const lines = r.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean);
  const named = `port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}`;
  const held = lines.length ? `on ${host.name}, ${named}: ${lines.join(' | ')}` : `on ${host.name}, ss lists no socket on ${named} now (taken for a moment, or bound with no connection, which ss does not list)`;
  return `${error} (${held}; reserve the migration ports from the ephemeral range: sysctl net.ipv4.ip_local_reserved_ports)`;
}

/** The ports a VM's destination listens on: the migration stream's, and a local disk's NBD server's. */
export const listenPorts = (spec: Pick<VmSpec, 'migrationPort' | 'disk'>): number[] =>
  [spec.migrationPort, ...(spec.disk?.storage === 'local' ? [nbdPort(spec)] : [])];

/**
 * The ports among `ports` that a host's outgoing connections may be given: inside its ephemeral
 * range (`net.ipv4.ip_local_port_range`, "32768 60999") and not in `ip_local_reserved_ports`
 * ("49152-49241,59152-59241"). Unreadable settings: none known.
 */
export function unreservedEphemeral(ports: readonly number[], portRange: string, reservedList: string): number[] {
  const [lo, hi] = portRange.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(lo) || !Number.isInteger(hi)) return [];
  const reserved = reservedList.split(',').map((r) => r.trim()).filter(Boolean).map((r) => {
    const [a, b] = r.split('-').map(Number);
    return [a!, b ?? a!] as const;
  });
  return ports.filter((p) => p >= lo! && p <= hi! && !reserved.some(([a, b]) => p >= a && p <= b));
}
