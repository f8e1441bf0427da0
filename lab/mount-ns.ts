/**
 * A bed host's own mount namespace, kept alive by a bind mount of its ns file (as `ip netns`
 * keeps network namespaces). In it, /sys shows the host's network namespace, and the folders a
 * real host keeps to itself (libvirt's run, state and config dirs) are the host's own folders on
 * the shared filesystem. The host's daemons (sshd, libvirtd) run in it, so a command that arrives
 * over SSH sees what the host's libvirtd sees, as on a real machine.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tryRun } from '../lib/exec.js';

/** Folders every host keeps to itself: system path → its folder name under the host's dir. */
export const PRIVATE_DIRS: Readonly<Record<string, string>> = {
  '/run/libvirt': 'run',
  '/var/lib/libvirt': 'lib',
  '/etc/libvirt': 'etc',
  '/var/cache/libvirt': 'cache',
  '/var/log/libvirt': 'log',
};

export interface MountNs {
  /** the bind-mounted ns file: what nsenter --mount= takes */
  file: string;
  netns: string;
}

const mounted = async (path: string) => tryRun('mountpoint', ['-q', path]);

/**
 * The host's mount namespace, made if it is not there yet. `nsDir` is bind-mounted onto itself
 * with private propagation (required for ns files to be bind-mounted in it).
 */
export async function ensureMountNs(o: { nsDir: string; host: string; netns: string; privateRoot: string }): Promise<MountNs> {
  const file = join(o.nsDir, o.host);
  const ns = { file, netns: o.netns };
  await mkdir(o.nsDir, { recursive: true });
  if (!(await mounted(o.nsDir))) {
    await run('mount', ['--bind', o.nsDir, o.nsDir]);
    await run('mount', ['--make-private', o.nsDir]);
  }
  if (await mounted(file)) return ns;
  if (!existsSync(file)) await writeFile(file, '');
  const binds: string[] = [];
  for (const [system, own] of Object.entries(PRIVATE_DIRS)) {
    const dir = join(o.privateRoot, own);
    await mkdir(dir, { recursive: true });
    await mkdir(system, { recursive: true }); // the mount point, empty on a machine without libvirt
    binds.push(`mount --bind ${dir} ${system}`);
  }
  // unshare runs in the host's network namespace, so the sysfs it mounts lists that namespace's links.
  await run('nsenter', [`--net=/run/netns/${o.netns}`, 'unshare', `--mount=${file}`, '--propagation', 'private', 'sh', '-ec', ['mount -t sysfs sysfs /sys', ...binds].join('\n')]);
  return ns;
}

/** argv prefix that runs a program in the host's network and mount namespaces. */
export const inHost = (ns: MountNs): string[] => ['nsenter', `--net=/run/netns/${ns.netns}`, `--mount=${ns.file}`];

/** Releases every host's mount namespace of a bed (their processes must be gone already). */
export async function releaseMountNs(nsDir: string): Promise<void> {
  if (!existsSync(nsDir)) return;
  for (const f of await readdir(nsDir)) {
    const p = join(nsDir, f);
    if (await mounted(p)) await run('umount', [p]);
  }
  if (await mounted(nsDir)) await run('umount', [nsDir]);
}

/** True when the process runs in this mount namespace (its ns link and the ns file are one inode). */
export function runsIn(pid: number, ns: MountNs): boolean {
  try {
    return statSync(`/proc/${pid}/ns/mnt`).ino === statSync(ns.file).ino;
  } catch {
    return false;
  }
}
