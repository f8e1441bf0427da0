/** Checks that the machine can host the bed, each failure naming the fix. */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { statePaths } from '../lib/paths.js';

export interface Problem {
  what: string;
  fix: string;
}

const SETUP = 'run `bash scripts/setup.sh` (it installs what is missing)';

export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function labProblems(paths = statePaths()): Problem[] {
  const problems: Problem[] = [];
  if (process.getuid?.() !== 0) {
    problems.push({ what: 'the test bed needs root (it creates network namespaces, bridges and tap devices)', fix: 'run miglab as root, e.g. with sudo' });
  }
  if (!existsSync('/dev/net/tun')) {
    problems.push({ what: '/dev/net/tun is missing, so QEMU cannot give guests a network', fix: 'load the tun module (`modprobe tun`) or use a machine whose kernel has TUN/TAP' });
  }
  const tools: [string, string][] = [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['ip', 'iproute2'],
    ['sshd', 'openssh-server'],
    ['ssh-keygen', 'openssh-client'],
    ['ping', 'iputils-ping'],
  ];
  for (const [bin, pkg] of tools) {
    if (!findExecutable(bin)) problems.push({ what: `${bin} is not installed`, fix: `${SETUP}, or \`apt-get install ${pkg}\`` });
  }
  for (const f of ['vmlinuz', 'initrd.img', 'ssh_host_key.pub']) {
    if (!existsSync(join(paths.guest, f))) {
      problems.push({ what: `the lab guest image is not built (${join(paths.guest, f)} is missing)`, fix: SETUP });
      break;
    }
  }
  if (!existsSync(paths.labKey)) problems.push({ what: `the bed's SSH key ${paths.labKey} is missing`, fix: SETUP });
  return problems;
}

/** Throws one UserError listing every problem, so the user fixes them all in one go. */
export function assertNoProblems(problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  const first = problems[0]!;
  if (problems.length === 1) throw new UserError(first.what, first.fix);
  throw new UserError(
    `${problems.length} prerequisites are missing:\n` + problems.map((p) => `  - ${p.what}\n    fix: ${p.fix}`).join('\n'),
    'fix each item above, then run the command again',
  );
}
