import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this module that holds package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('miglab: cannot find the project root (no package.json above the code)');
    dir = up;
  }
  return dir;
}

/** Where miglab keeps its state: the Temporal database, the bed, keys, the guest image, results. */
export function stateDir(): string {
  return resolve(process.env.MIGLAB_STATE_DIR ?? join(projectRoot(), '.miglab'));
}

export const statePaths = (root = stateDir()) => ({
  root,
  keys: join(root, 'keys'),
  labKey: join(root, 'keys', 'lab_ed25519'),
  guest: join(root, 'guest'),
  /** the Debian disk guest (lab/debian-guest/build.sh) */
  debianGuest: join(root, 'debian-guest'),
  /** the bed's Xen host image (lab/xen/build-host.sh) */
  xen: join(root, 'xen'),
  lab: join(root, 'lab'),
  bin: join(root, 'bin'),
  temporal: join(root, 'temporal'),
});
