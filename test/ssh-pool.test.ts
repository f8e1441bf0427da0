/**
 * SshPool's bookkeeping, against ssh2's in-process SSH server on loopback (real SSH protocol,
 * host key verified): a connection that dies after a newer one replaced it must not unlist the
 * newer one, and closeAll ends every connection and refuses new ones; a channel refused is not a
 * dead connection; an old Dropbear gets one command at a time. A connection the pool lost
 * track of kept `miglab run` alive after its campaign had completed (issue 22's link-cut test).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type Server } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostUnreachableError, oneCommandAtATime, PoolClosedError, SshPool, type SshTarget } from '../activities/ssh/pool.js';
import { hostName } from '../activities/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-ssh-pool-'));
const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
writeFileSync(join(dir, 'id'), clientKey.private, { mode: 0o600 });

interface TestServer {
  server: Server;
  target: SshTarget;
  /** connections accepted and open; commands running now, and the most at once */
  stats: { accepted: number; open: number; running: number; mostRunning: number };
  /** session channels to refuse before the next is opened */
  refuseOpens: number;
}

/**
 * An SSH server on loopback identifying as `software`. Commands: `drop` ends the connection
 * mid-command, `refuse` has its exec refused, `slow` answers after 300 ms; any other is echoed.
 */
async function startServer(name: string, software?: string): Promise<TestServer> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const t = { stats: { accepted: 0, open: 0, running: 0, mostRunning: 0 }, refuseOpens: 0 } as TestServer;
  t.server = new ssh2.Server({ hostKeys: [hostKey.private], ...(software ? { ident: software } : {}) }, (client) => {
    t.stats.accepted++;
    t.stats.open++;
    client.on('close', () => t.stats.open--);
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () =>
      client.on('session', (accept, reject) => {
        if (t.refuseOpens > 0) return void (t.refuseOpens--, reject());
        accept().on('exec', (acceptExec, rejectExec, info) => {
          if (info.command === 'refuse') return void rejectExec();
          const channel = acceptExec();
          if (info.command === 'drop') return void client.end(); // the connection goes mid-command
          t.stats.mostRunning = Math.max(t.stats.mostRunning, ++t.stats.running);
          setTimeout(() => {
            t.stats.running--;
            channel.write(`ran: ${info.command}`);
            channel.exit(0);
            channel.end();
          }, info.command.startsWith('slow') ? 300 : 0);
        });
      }),
    );
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', () => r()));
  const port = (t.server.address() as AddressInfo).port;
  const knownHosts = join(dir, `known_hosts.${name}`);
  writeFileSync(knownHosts, `${hostName('127.0.0.1', port)} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
  t.target = { host: '127.0.0.1', port, user: 'root', privateKeyPath: join(dir, 'id'), knownHostsPath: knownHosts };
  return t;
}

let plain: TestServer;
let oldDropbear: TestServer;
let stats: TestServer['stats'];
let target: SshTarget;

beforeAll(async () => {
  plain = await startServer('plain');
  oldDropbear = await startServer('dropbear', 'dropbear_2022.83');
  ({ stats, target } = plain);
});

afterAll(async () => {
  for (const t of [plain, oldDropbear]) await new Promise<void>((r) => t.server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until the server sees `n` connections open (closes arrive asynchronously). */
async function openOnServer(n: number): Promise<void> {
  for (let i = 0; i < 100 && stats.open !== n; i++) await new Promise((r) => setTimeout(r, 20));
  expect(stats.open).toBe(n);
}

describe('SshPool (ssh2 in-process server)', () => {
  it('takes one command at a time only from a Dropbear older than 2024.86 (mkj/dropbear#321), by its identification', () => {
    expect(['dropbear_2022.83', 'dropbear_2024.85', 'dropbear_2019.78'].map(oneCommandAtATime)).toEqual([true, true, true]);
    expect(['dropbear_2024.86', 'dropbear_2025.88', 'OpenSSH_9.2p1', 'ssh2js1.17.0', ''].map(oneCommandAtATime)).toEqual([false, false, false, false, false]);
  });

  it("runs concurrent commands on one connection side by side, but one after another on an old Dropbear's", async () => {
    for (const [t, most] of [[plain, 3], [oldDropbear, 1]] as const) {
      const pool = new SshPool();
      t.stats.mostRunning = 0;
      const before = t.stats.accepted;
      try {
        const outs = await Promise.all([1, 2, 3].map((i) => pool.exec(t.target, ['slow', i])));
        expect(outs.map((o) => o.stdout)).toEqual(['ran: slow 1', 'ran: slow 2', 'ran: slow 3']);
        expect(t.stats.mostRunning).toBe(most);
        expect(t.stats.accepted - before).toBe(1);
      } finally {
        await pool.closeAll();
      }
    }
  });

  it('asks again on the same connection for a channel the server would not open', async () => {
    const pool = new SshPool();
    await pool.exec(target, ['true']);
    const before = stats.accepted;
    plain.refuseOpens = 2;
    expect((await pool.exec(target, ['echo', 'again'])).stdout).toBe('ran: echo again');
    expect(plain.refuseOpens).toBe(0);
    expect(stats.accepted - before).toBe(0);
    await pool.closeAll();
  });

  it('a refused exec fails that command alone (HostUnreachableError, not run again), the connection and a command running on it untouched', async () => {
    const pool = new SshPool();
    await pool.exec(target, ['true']);
    const before = stats.accepted;
    const slow = pool.exec(target, ['slow']);
    await expect(pool.exec(target, ['refuse'])).rejects.toThrow(/no channel for `refuse`: Unable to exec/);
    expect((await slow).stdout).toBe('ran: slow');
    expect(stats.accepted - before).toBe(0);
    await pool.closeAll();
  });

  it('a dropped connection whose close arrives after its replacement opened leaves the replacement listed: the next command reuses it', async () => {
    const pool = new SshPool();
    const before = stats.accepted;
    expect((await pool.exec(target, ['echo', 'one'])).stdout).toBe("ran: echo one");
    pool.drop(target); // closes the first once its promise settles …
    await pool.exec(target, ['echo', 'two']); // … while the second is already listed
    await openOnServer(1); // the first's close has arrived by now
    await pool.exec(target, ['echo', 'three']);
    expect(stats.accepted - before).toBe(2); // not a third connection
    await pool.closeAll();
    await openOnServer(0);
  });

  it('a connection that drops while a command runs is HostUnreachableError, not a command that failed (also with allowFailure)', async () => {
    const pool = new SshPool();
    await expect(pool.exec(target, ['drop'])).rejects.toBeInstanceOf(HostUnreachableError);
    await expect(pool.exec(target, ['drop'], { allowFailure: true })).rejects.toThrow(/connection dropped while `drop` ran/);
    expect((await pool.exec(target, ['echo', 'after'])).stdout).toBe('ran: echo after'); // and the next command reconnects
    await pool.closeAll();
  });

  it('closeAll ends every connection, and the pool refuses new ones after it', async () => {
    const pool = new SshPool();
    await Promise.all([pool.exec(target, ['true']), pool.exec(target, ['true'])]);
    await openOnServer(1); // two callers at once share one connection
    await pool.closeAll();
    await openOnServer(0);
    await expect(pool.exec(target, ['true'])).rejects.toBeInstanceOf(PoolClosedError);
    expect(stats.open).toBe(0);
  });
});
