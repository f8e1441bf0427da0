/** What miglab is this: its version and the git commit it runs from (for `--version` and provenance). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

export interface MiglabVersion {
  version: string;
  /** the checkout's HEAD, with `-dirty` when it has uncommitted changes; null outside a git checkout */
  commit: string | null;
}

let cached: MiglabVersion | undefined;

export function miglabVersion(): MiglabVersion {
  if (cached) return cached;
  const root = projectRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  let commit: string | null = null;
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = git(['rev-parse', 'HEAD']);
    // untracked files do not count: results and state live in the checkout
    if (git(['status', '--porcelain', '--untracked-files=no'])) commit += '-dirty';
  } catch {
    /* not a git checkout, or no git: the version alone */
  }
  cached = { version, commit };
  return cached;
}

export const versionLine = (v = miglabVersion()): string => `miglab ${v.version}${v.commit ? ` (${v.commit.slice(0, 12)}${v.commit.endsWith('-dirty') ? '-dirty' : ''})` : ''}`;
