/**
 * SSH connections to hosts and guests, reused per target, always verifying the host key
 * against a known_hosts file.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { NodeSSH, type SSHExecCommandResponse } from 'node-ssh';
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

/**
 * ssh2's error for a channel the server would not open (OpenSSH's MaxSessions, say): the command
 * was never sent, so asking again on the same connection cannot run it twice.
 */
const isChannelOpenRefusal = (err: unknown) => ((err as Error | undefined)?.message ?? '').startsWith('(SSH) Channel open failure');
const CHANNEL_OPEN_TRIES = 5;
const CHANNEL_OPEN_BACKOFF_MS = 50;

/**
 * Dropbear before 2024.86 closes a session channel whose exec request has not arrived yet when
 * another of the connection's commands exits in between — and then runs the command it receives
 * all the same (mkj/dropbear#321; measured on the bed's guest: 1 command in about 60 concurrent
 * pairs, the client told "Unable to exec", the command's side effect present). Such a server gets
 * one command at a time per connection: no other child can exit while a channel waits for its exec.
 */
export function oneCommandAtATime(serverSoftware: string): boolean {
  const m = /^dropbear_(\d+)\.(\d+)/.exec(serverSoftware);
  return !!m && Number(m[1]) * 1000 + Number(m[2]) < 2024 * 1000 + 86;
}

export class SshPool {
  private readonly conns = new Map<string, Promise<NodeSSH>>();
  /** every connection opened and not yet closed, listed or not: closeAll ends them all */
  private readonly everyOpen = new Set<NodeSSH>();
  /** per open connection: removes it from `conns` if it is still the one listed there */
  private readonly unlist = new WeakMap<NodeSSH, () => void>();
  /** connections to servers that take one command at a time: the end of each one's queue */
  private readonly queues = new WeakMap<NodeSSH, { tail: Promise<unknown> }>();
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
    this.unlist.set(ssh, onDrop);
    // ssh2 keeps the server's software version (from its identification line) in a private field
    const software = (ssh.connection as unknown as { _remoteVer?: string } | null)?._remoteVer ?? '';
    if (oneCommandAtATime(software)) this.queues.set(ssh, { tail: Promise.resolve() });
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
    const res = await this.run(target, command, opts.stdin);
    // No exit status: the channel closed without one, i.e. the connection dropped mid-command
    // (keepalives unanswered, peer gone). That is the host's state, not the command's verdict.
    if (res.code === null && res.signal === null) throw new HostUnreachableError(`${keyOf(target)}: the connection dropped while \`${command.slice(0, 200)}\` ran`);
    const result = { stdout: res.stdout, stderr: res.stderr, code: res.code ?? -1 };
    if (result.code !== 0 && !opts.allowFailure) throw new RemoteCommandError(keyOf(target), command, result);
    return result;
  }

  /**
   * One command on the target's pooled connection. A channel the server would not open is asked
   * for again on that connection; a dead connection is replaced once. Only the connection that
   * failed is closed: other commands may be running on the pooled one.
   */
  private async run(target: SshTarget, command: string, stdin: string | undefined): Promise<SSHExecCommandResponse> {
    let reconnected = false;
    for (let opens = 1; ; ) {
      let ssh: NodeSSH | undefined;
      try {
        ssh = await this.connection(target);
        const conn = ssh;
        return await this.inTurn(conn, () => conn.execCommand(command, stdin === undefined ? {} : { stdin }));
      } catch (err) {
        // A host key that does not match is never a dead connection: no retry, no relabelling.
        if (err instanceof HostKeyError || err instanceof PoolClosedError) throw err;
        if (ssh?.isConnected()) {
          if (isChannelOpenRefusal(err) && opens < CHANNEL_OPEN_TRIES) {
            await new Promise((r) => setTimeout(r, CHANNEL_OPEN_BACKOFF_MS * opens++));
            continue;
          }
          // The connection is up but this command's channel failed (an exec refused, or a channel
          // closed before its answer): whether the command ran is unknown, so it is not run again
          // here; the caller's step, retried, decides.
          throw new HostUnreachableError(`${keyOf(target)}: no channel for \`${command.slice(0, 200)}\`: ${(err as Error).message}`);
        }
        if (reconnected) throw err instanceof HostUnreachableError ? err : new HostUnreachableError(`${keyOf(target)}: ${(err as Error).message}`);
        // A pooled connection can be dead without our knowing yet (its peer, a guest, was stopped
        // and a new one took its address): close it and try once on a fresh connection.
        reconnected = true;
        if (ssh) this.close(ssh);
      }
    }
  }

  /** Runs `fn` now, or after the commands before it on a connection that takes one at a time. */
  private inTurn<T>(ssh: NodeSSH, fn: () => Promise<T>): Promise<T> {
    const q = this.queues.get(ssh);
    if (!q) return fn();
    const mine = q.tail.then(fn, fn);
    q.tail = mine.catch(() => undefined);
    return mine;
  }

  /** A byte stream to a Unix socket on the target (OpenSSH stream-local forwarding). */
  async openUnixSocket(target: SshTarget, path: string): Promise<Duplex> {
    const ssh = await this.connection(target);
    return ssh.forwardOutStreamLocal(path);
  }

  /** Closes one connection, unlisting it if it is still the target's pooled one. */
  private close(ssh: NodeSSH): void {
    this.unlist.get(ssh)?.();
    closeHard(ssh);
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
