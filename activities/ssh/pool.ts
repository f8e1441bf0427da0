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

  async connection(target: SshTarget): Promise<NodeSSH> {
    const key = keyOf(target);
    const existing = this.conns.get(key);
    if (existing) {
      const ssh = await existing.catch(() => undefined);
      if (ssh?.isConnected()) return ssh;
      this.conns.delete(key);
    }
    const pending = this.open(target);
    this.conns.set(key, pending);
    pending.catch(() => this.conns.delete(key));
    return pending;
  }

  private async open(target: SshTarget): Promise<NodeSSH> {
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
    ssh.connection?.on('close', () => this.conns.delete(keyOf(target)));
    ssh.connection?.on('error', () => this.conns.delete(keyOf(target)));
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
      if (first instanceof HostKeyError) throw first;
      // A pooled connection can be dead without our knowing yet (its peer, a guest, was stopped
      // and a new one took its address): drop it and try once on a fresh connection.
      this.drop(target);
      try {
        res = await run();
      } catch (err) {
        if (err instanceof HostKeyError || err instanceof HostUnreachableError) throw err;
        throw new HostUnreachableError(`${keyOf(target)}: ${(err as Error).message}`);
      }
    }
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

  async closeAll(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(
      all.map(async (p) => {
        const ssh = await p.catch(() => undefined);
        if (ssh) closeHard(ssh);
      }),
    );
  }
}
