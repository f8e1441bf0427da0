/**
 * What a migration's error says when its destination could not listen: the sockets on the port,
 * read with ss over SSH (a stub pool here: the bed case is in lab.e2e), and the ports a bed keeps
 * out of its hosts' ephemeral range.
 */
import { describe, expect, it } from 'vitest';
import { listenPorts, portHoldersCommand, unreservedEphemeral, withPortHolders } from '../activities/port-holders.js';
import type { SshPool } from '../activities/ssh/pool.js';
import { migrationPortOf } from '../activities/qemu/vm-spec.js';
import { nbdPort } from '../activities/qemu/disk-move.js';
import { reservedPorts } from '../lab/netns.js';
import { MAX_HOSTS } from '../lab/addressing.js';

const host = { name: 'hostb', ip: '198.18.0.11', bridge: 'br0', runDir: '/run/m', ssh: { host: '198.18.0.11', port: 22, user: 'root', privateKeyPath: '/k', knownHostsPath: '/kh' } };
const stubPool = (stdout: string, asked: string[] = []) => ({ execShell: async (_t: unknown, cmd: string) => (asked.push(cmd), { code: 0, stdout, stderr: '' }) }) as unknown as SshPool;

describe('port holders', () => {
  it('asks ss for every socket on the ports, and names each in the error', async () => {
    expect(portHoldersCommand([49152, 59152])).toBe("ss -Htanp 'sport = :49152 or sport = :59152' 2>/dev/null || echo '(ss could not be run here)'");
    const asked: string[] = [];
    const out = 'ESTAB 0      0    198.18.0.11:49152  198.18.0.10:22 users:(("socat",pid=7,fd=5))\nTIME-WAIT 0 0 198.18.0.11:49152 198.18.0.12:22\n';
    const msg = await withPortHolders(stubPool(out, asked), host, [49152], 'Failed to find an available port: Address already in use');
    expect(asked).toEqual([portHoldersCommand([49152])]);
    expect(msg).toBe('Failed to find an available port: Address already in use (on hostb, port 49152: ESTAB 0 0 198.18.0.11:49152 198.18.0.10:22 users:(("socat",pid=7,fd=5)) | TIME-WAIT 0 0 198.18.0.11:49152 198.18.0.12:22; reserve the migration ports from the ephemeral range: sysctl net.ipv4.ip_local_reserved_ports)');
  });

  it('says when ss lists nothing, and leaves the error as it was when the host cannot be asked', async () => {
    expect(await withPortHolders(stubPool(''), host, [49152, 59152], 'in use')).toContain('on hostb, ss lists no socket on ports 49152, 59152 now');
    const down = { execShell: async () => { throw new Error('ssh: connection reset'); } } as unknown as SshPool;
    expect(await withPortHolders(down, host, [49152], 'in use')).toBe('in use');
  });

  it("a destination listens on the migration port, and on the NBD port when the disk moves", () => {
    const spec = { migrationPort: 49153 };
    expect(listenPorts(spec)).toEqual([49153]);
    expect(listenPorts({ ...spec, disk: { image: '/i', format: 'qcow2', storage: 'shared', root: true } })).toEqual([49153]);
    expect(listenPorts({ ...spec, disk: { image: '/i', format: 'qcow2', storage: 'local', root: true } })).toEqual([49153, 59153]);
  });

  it("a bed reserves every lane's migration and NBD port, and no other", () => {
    const ranges = reservedPorts().split(',').map((r) => r.split('-').map(Number) as [number, number]);
    const reserved = (p: number) => ranges.some(([lo, hi]) => p >= lo && p <= hi);
    for (let lane = 0; lane < MAX_HOSTS; lane++) {
      expect(reserved(migrationPortOf(lane)), `lane ${lane}`).toBe(true);
      expect(reserved(nbdPort({ migrationPort: migrationPortOf(lane) })), `lane ${lane} NBD`).toBe(true);
    }
    expect(ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0)).toBe(2 * MAX_HOSTS);
  });

  it("hosts check's rule: a port a host's outgoing connections may take is in its ephemeral range and not reserved", () => {
    expect(unreservedEphemeral([49152, 59152], '32768\t60999', '')).toEqual([49152, 59152]);
    expect(unreservedEphemeral([49152, 59152], '32768 60999', '49152-49241')).toEqual([59152]);
    expect(unreservedEphemeral([49152, 59152], '32768 60999', reservedPorts())).toEqual([]);
    expect(unreservedEphemeral([49153], '32768 60999', '22,49153')).toEqual([]);
    // a host whose ephemeral range is below the ports (a common hardening), or unread
    expect(unreservedEphemeral([49152], '32768 49151', '')).toEqual([]);
    expect(unreservedEphemeral([49152], '', '')).toEqual([]);
  });
});
