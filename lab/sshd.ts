/** One OpenSSH server per bed host, started inside the host's namespace, with its own host key. */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { pidFromFile, processAlive } from '../lib/process.js';
import type { HostAddress } from './addressing.js';
import { findExecutable } from './prereqs.js';
import { inHost, runsIn, type MountNs } from './mount-ns.js';

export interface SshdFiles {
  dir: string;
  hostKey: string;
  config: string;
  pidFile: string;
  log: string;
}

export const sshdFiles = (hostDir: string): SshdFiles => ({
  dir: hostDir,
  hostKey: join(hostDir, 'ssh_host_ed25519_key'),
  config: join(hostDir, 'sshd_config'),
  pidFile: join(hostDir, 'sshd.pid'),
  log: join(hostDir, 'sshd.log'),
});

export function sshdConfig(host: HostAddress, files: SshdFiles, authorizedKeys: string): string {
  return [
    `# miglab bed host ${host.name}: written by \`miglab lab up\``,
    `ListenAddress ${host.ip}:22`,
    `HostKey ${files.hostKey}`,
    `PidFile ${files.pidFile}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The bed's files live under the project's state dir, wherever the checkout is (maybe below a
    // world-writable /tmp); the keys there are the bed's own, so sshd's path ownership check is off.
    'StrictModes no',
    // QMP sockets are reached through SSH stream-local forwarding; no TCP port is exposed.
    // OpenSSH grants stream-local opens only where local TCP forwarding is on as well, hence
    // `local`; the hosts have no route beyond the bed, so it reaches nothing else.
    'AllowStreamLocalForwarding local',
    'AllowTcpForwarding local',
    'X11Forwarding no',
    'MaxSessions 64',
    'MaxStartups 64:30:128',
    '',
  ].join('\n');
}

function pidAlive(pidFile: string): boolean {
  const pid = pidFromFile(pidFile);
  return pid !== undefined && processAlive(pid);
}

export async function ensureHostKey(files: SshdFiles): Promise<string> {
  await mkdir(files.dir, { recursive: true });
  if (!existsSync(files.hostKey)) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'miglab-bed-host', '-f', files.hostKey]);
  }
  const pub = (await readFile(`${files.hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  return `${pub[0]} ${pub[1]}`;
}

/**
 * Starts sshd in the host's network and mount namespaces unless it already runs there; waits until
 * it accepts connections.
 */
export async function ensureSshd(host: HostAddress, files: SshdFiles, authorizedKeys: string, ns: MountNs): Promise<void> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation dir
  const config = sshdConfig(host, files, authorizedKeys);
  const changed = !existsSync(files.config) || readFileSync(files.config, 'utf8') !== config;
  await writeFile(files.config, config);
  // A running sshd keeps its old settings (a SIGHUP reload did not reliably apply them here), and
  // one from before the host had its mount namespace sees the machine's libvirt, not the host's:
  // stop it and start it afresh.
  if (pidAlive(files.pidFile) && (changed || !runsIn(pidFromFile(files.pidFile)!, ns))) {
    process.kill(pidFromFile(files.pidFile)!, 'SIGTERM');
    for (let i = 0; i < 100 && pidAlive(files.pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  }
  if (!pidAlive(files.pidFile)) {
    const sshd = findExecutable('sshd') ?? '/usr/sbin/sshd';
    await run(sshd, ['-t', '-f', files.config]); // config check first: its message beats a silent exit
    const [cmd, ...args] = inHost(ns);
    await run(cmd!, [...args, sshd, '-f', files.config, '-E', files.log]);
  }
  await waitForPort(host.ip, 22, 10_000);
}

export function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = createConnection({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', (err) => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms: ${err.message}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}
