/**
 * One libvirtd per bed host (Debian's libvirt-daemon-system), in the host's mount namespace, so
 * each has its own run, state and config dirs (mount-ns.ts) and sees only its own domains.
 * Settings a container needs: QEMU runs as root with no security driver, no cgroups and no
 * private /dev (none of which a network-namespace host can offer), its output goes to plain files
 * (no virtlogd), and the local socket is root's alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { pidFromFile, processAlive } from '../lib/process.js';
import { UserError } from '../lib/errors.js';
import { projectRoot } from '../lib/paths.js';
import { inHost, runsIn, type MountNs } from './mount-ns.js';
import { findExecutable } from './prereqs.js';

const MARK = '# --- miglab bed host settings ---';

/** QEMU for libvirt's domains on the bed (pads guest RAM where QEMU needs it; see the script). */
export const QEMU_WRAPPER = join(projectRoot(), 'lab', 'qemu-padded.sh');

const QEMU_CONF = [
  MARK,
  'user = "root"',
  'group = "root"',
  'security_driver = "none"',
  'cgroup_controllers = [ ]',
  'stdio_handler = "file"',
  'namespaces = [ ]',
  'remember_owner = 0',
  '',
].join('\n');

const LIBVIRTD_CONF = [MARK, 'unix_sock_group = "root"', 'unix_sock_rw_perms = "0700"', 'auth_unix_rw = "none"', ''].join('\n');

export interface LibvirtdFiles {
  /** the host's own copies of the dirs listed in mount-ns.ts */
  root: string;
  pidFile: string;
  /** the daemon's socket as the controller sees it (on the shared filesystem) */
  socket: string;
}

export const libvirtdFiles = (hostDir: string): LibvirtdFiles => ({
  root: join(hostDir, 'libvirt'),
  pidFile: join(hostDir, 'libvirtd.pid'),
  socket: join(hostDir, 'libvirt', 'run', 'libvirt-sock'),
});

export function libvirtProblems(): string[] {
  const missing = ['libvirtd', 'virsh'].filter((p) => !findExecutable(p));
  return missing.length ? [`missing: ${missing.join(', ')} (Debian packages libvirt-daemon-system, libvirt-clients)`] : [];
}

/** Starts the host's libvirtd unless it already runs; waits until its socket answers. */
export async function ensureLibvirtd(ns: MountNs, files: LibvirtdFiles): Promise<void> {
  const problems = libvirtProblems();
  if (problems.length) throw new UserError(`cannot start libvirtd on the bed: ${problems.join('; ')}`, 'run `npm run setup` (it installs them), or apt-get install libvirt-daemon-system libvirt-clients');
  const etc = join(files.root, 'etc');
  if (!existsSync(join(etc, 'qemu.conf'))) await run('cp', ['-a', '/etc/libvirt/.', `${etc}/`]);
  for (const [name, text] of [['qemu.conf', QEMU_CONF], ['libvirtd.conf', LIBVIRTD_CONF]] as const) {
    if (!readFileSync(join(etc, name), 'utf8').includes(MARK)) await appendFile(join(etc, name), `\n${text}`);
  }
  const pid = pidFromFile(files.pidFile);
  if (pid !== undefined && processAlive(pid) && runsIn(pid, ns)) return;
  const [cmd, ...args] = inHost(ns);
  await run(cmd!, [...args, findExecutable('libvirtd') ?? '/usr/sbin/libvirtd', '-d', '--pid-file', files.pidFile]);
  for (let i = 0; i < 100; i++) {
    if (existsSync(files.socket)) {
      try {
        await run(cmd!, [...args, 'virsh', '-c', 'qemu:///system', 'version'], { timeoutMs: 10_000 });
        // libvirt probes a QEMU binary's capabilities the first time a domain uses it (seconds
        // under TCG): probe the bed's QEMU wrapper now, not inside the first trial's migration.
        await run(cmd!, [...args, 'virsh', '-c', 'qemu:///system', 'domcapabilities', '--emulatorbin', QEMU_WRAPPER, '--virttype', 'qemu'], { timeoutMs: 60_000 }).catch(() => undefined);
        return;
      } catch {
        /* not serving yet */
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`libvirtd in ${ns.netns} did not answer within 10 s; see ${join(files.root, 'log')}`);
}
