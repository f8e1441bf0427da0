/**
 * SshPool's bookkeeping, against ssh2's in-process SSH server on loopback (real SSH protocol,
 * host key verified): a connection that dies after a newer one replaced it must not unlist the
 * newer one, and closeAll ends every connection and refuses new ones. A connection the pool lost
 * track of kept `miglab run` alive after its campaign had completed (issue 22's link-cut test).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type Server } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostUnreachableError, PoolClosedError, SshPool, type SshTarget } from '../activities/ssh/pool.js';
import { hostName } from '../activities/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-ssh-pool-'));
const stats = { accepted: 0, open: 0 };
let server: Server;
let target: SshTarget;

beforeAll(async () => {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
  server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    stats.accepted++;
    stats.open++;
    client.on('close', () => stats.open--);
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () =>
      client.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          if (info.command === 'drop') return void client.end(); // the connection goes mid-command
          channel.write(`ran: ${info.command}`);
          channel.exit(0);
          channel.end();
        }),
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(join(dir, 'id'), clientKey.private, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), `${hostName('127.0.0.1', port)} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
  target = { host: '127.0.0.1', port, user: 'root', privateKeyPath: join(dir, 'id'), knownHostsPath: join(dir, 'known_hosts') };
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until the server sees `n` connections open (closes arrive asynchronously). */
async function openOnServer(n: number): Promise<void> {
  for (let i = 0; i < 100 && stats.open !== n; i++) await new Promise((r) => setTimeout(r, 20));
  expect(stats.open).toBe(n);
}

describe('SshPool (ssh2 in-process server)', () => {
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
