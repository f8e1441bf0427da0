/**
 * SSH connections to hosts and guests, reused per target, always verifying the host key
 * against a known_hosts file.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { commandLine } from './shell-quote.js';
import { parseKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
}

export interface RemoteResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Raised when a host's key is unknown or does not match: never retried, never ignored. */
export class HostKeyError extends Error {
  override readonly name = 'HostKeyError';
}

/** Raised when a host cannot be reached or drops the connection: worth retrying. */
export class HostUnreachableError extends Error {
  override readonly name = 'HostUnreachableError';
}

/**
 * Raised for any use of a pool after closeAll(): an activity attempt abandoned by a stopped worker
 * (stuck past the shutdown deadline, long since retried elsewhere) runs on in this process, and
 * without this would open new connections and keep the process alive after its work is done.
 */
export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
}

/** Raised when a remote command exits non-zero. */
export class RemoteCommandError extends Error {
  override readonly name = 'RemoteCommandError';
  constructor(readonly target: string, readonly command: string, readonly result: RemoteResult) {
    super(`on ${target}: \`${command}\` exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
  }
}

const keyOf = (t: SshTarget) => `${t.user}@${t.host}:${t.port}`;

/**
 * Closes without waiting on the peer: a graceful end() waits for a peer that may be gone (a
 * stopped guest) and would keep the process alive until TCP gives up.
 */
function closeHard(ssh: NodeSSH): void {
  ssh.connection?.destroy();
  ssh.dispose();
}

/**
 * How long SSH takes to call a host gone: a new connection's handshake limit, and keepalives
 * unanswered on an open one (the fault tests derive their outage windows from these).
 */
export const SSH_TIMING = { readyTimeoutMs: 15_000, keepaliveIntervalMs: 5_000, keepaliveCountMax: 3 } as const;

export class SshPool {
  private readonly conns = new Map<string, Promise<NodeSSH>>();
  /** every connection opened and not yet closed, listed or not: closeAll ends them all */
  private readonly everyOpen = new Set<NodeSSH>();
  private closed = false;

  async connection(target: SshTarget): Promise<NodeSSH> {
    const key = keyOf(target);
    if (this.closed) throw new PoolClosedError(`${key}: the SSH pool is closed (its worker has stopped)`);
    const existing = this.conns.get(key);
    if (existing) {
      const ssh = await existing.catch(() => undefined);
      if (ssh?.isConnected()) return ssh;
      this.forget(key, existing);
      // another caller may have replaced the dead connection while this one waited: share theirs
      const newer = this.conns.get(key);
      if (newer) return this.connection(target);
    }
    const pending: Promise<NodeSSH> = this.open(target, () => this.forget(key, pending));
    this.conns.set(key, pending);
    pending.catch(() => this.forget(key, pending));
    return pending;
  }

  /**
   * Drops a connection from the map only if it is still the one there: a connection that dies
   * after a newer one replaced it (dropped, then its 'close' arriving late) must not unlist the
   * newer one, which closeAll would then never close and which would keep the process alive.
   */
  private forget(key: string, which: Promise<NodeSSH>): void {
    if (this.conns.get(key) === which) this.conns.delete(key);
  }

  private async open(target: SshTarget, onDrop: () => void): Promise<NodeSSH> {
    const known = parseKnownHosts(await readFile(target.knownHostsPath, 'utf8'));
    let verdict: HostKeyVerdict | undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKeyPath: target.privateKeyPath,
        readyTimeout: SSH_TIMING.readyTimeoutMs,
        keepaliveInterval: SSH_TIMING.keepaliveIntervalMs,
        keepaliveCountMax: SSH_TIMING.keepaliveCountMax,
        hostVerifier: (hostKey: Buffer) => {
          verdict = verifyHostKey(known, target.host, target.port, hostKey);
          return verdict.ok;
        },
      });
    } catch (err) {
      if (verdict && !verdict.ok) {
        throw new HostKeyError(`${keyOf(target)}: host key check failed: ${verdict.detail} (${target.knownHostsPath})`);
      }
      throw new HostUnreachableError(`${keyOf(target)}: ${(err as Error).message}`);
    }
    // Forget a connection as soon as it drops, so the next call reconnects. A dead peer shows up
    // as an 'error' (e.g. keepalive timeout after a guest stops): without a listener it would
    // crash the process.
    if (this.closed) {
      closeHard(ssh);
      throw new PoolClosedError(`${keyOf(target)}: the SSH pool was closed while connecting`);
    }
    this.everyOpen.add(ssh);
    ssh.connection?.on('close', () => (this.everyOpen.delete(ssh), onDrop()));
    ssh.connection?.on('error', onDrop);
    return ssh;
  }

  /** Runs argv on the target, each argument quoted; rejects on a non-zero exit unless allowFailure. */
  async exec(target: SshTarget, argv: readonly (string | number)[], opts: { allowFailure?: boolean; stdin?: string } = {}): Promise<RemoteResult> {
    return this.execShell(target, commandLine(argv), opts);
  }

  /** Runs a shell command line the caller has built from quoted parts. */
  async execShell(target: SshTarget, command: string, opts: { allowFailure?: boolean; stdin?: string } = {}): Promise<RemoteResult> {
    const run = async () => {
      const ssh = await this.connection(target);
      return ssh.execCommand(command, opts.stdin === undefined ? {} : { stdin: opts.stdin });
    };
    let res;
    try {
      res = await run();
    } catch (first) {
      // A host key that does not match is never a dead connection: no retry, no relabelling.
      if (first instanceof HostKeyError || first instanceof PoolClosedError) throw first;
      // A pooled connection can be dead without our knowing yet (its peer, a guest, was stopped
      // and a new one took its address): drop it and try once on a fresh connection.
      this.drop(target);
      try {
        res = await run();
      } catch (err) {
        if (err instanceof HostKeyError || err instanceof HostUnreachableError || err instanceof PoolClosedError) throw err;
        throw new HostUnreachableError(`${keyOf(target)}: ${(err as Error).message}`);
      }
    }
    // No exit status: the channel closed without one, i.e. the connection dropped mid-command
    // (keepalives unanswered, peer gone). That is the host's state, not the command's verdict.
    if (res.code === null && res.signal === null) throw new HostUnreachableError(`${keyOf(target)}: the connection dropped while \`${command.slice(0, 200)}\` ran`);
    const result = { stdout: res.stdout, stderr: res.stderr, code: res.code ?? -1 };
    if (result.code !== 0 && !opts.allowFailure) throw new RemoteCommandError(keyOf(target), command, result);
    return result;
  }

  /** A byte stream to a Unix socket on the target (OpenSSH stream-local forwarding). */
  async openUnixSocket(target: SshTarget, path: string): Promise<Duplex> {
    const ssh = await this.connection(target);
    return ssh.forwardOutStreamLocal(path);
  }

  /** Forgets (and closes) the connection to a target, e.g. a guest that is being stopped. */
  drop(target: SshTarget): void {
    const p = this.conns.get(keyOf(target));
    this.conns.delete(keyOf(target));
    void p?.then(closeHard).catch(() => undefined);
  }

  /** Closes every connection; the pool refuses new ones from then on (PoolClosedError). */
  async closeAll(): Promise<void> {
    this.closed = true;
    const pending = [...this.conns.values()];
    this.conns.clear();
    // a handshake under way ends by itself: open() closes what connects once the pool is closed
    await Promise.allSettled(pending);
    for (const ssh of this.everyOpen) closeHard(ssh);
    this.everyOpen.clear();
  }
}
