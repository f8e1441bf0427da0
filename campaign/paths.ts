/**
 * Rules about the files a campaign names, checked against the filesystem before anything starts:
 * host keys and known_hosts files must exist, and results must not go into a system folder.
 */
import { statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { CampaignSpec } from './spec.js';
import type { SpecProblem } from './validate.js';

/** Where results must never be written: the system's own folders (and the filesystem root). */
const SYSTEM_ROOTS = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr', '/var/lib/dpkg'];

export function isSystemPath(p: string): boolean {
  const abs = resolve(p);
  return abs === sep || SYSTEM_ROOTS.some((root) => abs === root || abs.startsWith(root + sep));
}

function fileProblem(path: (string | number)[], what: string, file: string): SpecProblem | undefined {
  try {
    if (statSync(file).isFile()) return undefined;
    return { path, message: `${what} ${file} is not a file`, fix: `point ${String(path[path.length - 1])} at the file itself` };
  } catch {
    return { path, message: `${what} ${file} does not exist`, fix: 'check the path (relative paths start at the campaign file\'s folder)' };
  }
}

/** The path itself or the first of its parents that exists as something other than a folder. */
function firstFileOn(p: string): string | undefined {
  for (let at = resolve(p); ; at = dirname(at)) {
    try {
      return statSync(at).isDirectory() ? undefined : at;
    } catch {
      if (dirname(at) === at) return undefined; // nothing of it exists: it will be created
    }
  }
}

export function pathProblems(spec: CampaignSpec, resolvePath: (p: string) => string): SpecProblem[] {
  const problems: SpecProblem[] = [];
  spec.hosts?.forEach((h, i) => {
    const key = fileProblem(['hosts', i, 'key'], 'private key file', resolvePath(h.key));
    if (key) problems.push(key);
    const known = fileProblem(['hosts', i, 'knownHosts'], 'known_hosts file', resolvePath(h.knownHosts));
    if (known) problems.push(known);
  });
  if (spec.vm.guest) {
    const key = fileProblem(['vm', 'guest', 'key'], "guest's private key file", resolvePath(spec.vm.guest.key));
    if (key) problems.push(key);
    const known = fileProblem(['vm', 'guest', 'knownHosts'], "guest's known_hosts file", resolvePath(spec.vm.guest.knownHosts));
    if (known) problems.push(known);
  }
  const results = resolvePath(spec.results);
  const file = firstFileOn(results);
  if (file) {
    problems.push({ path: ['results'], message: `results would go to ${results}, but ${file === results ? 'that is' : `${file} is`} a file`, fix: 'name a folder (it is created if missing), e.g. the default `results`' });
  }
  if (isSystemPath(results)) {
    problems.push({ path: ['results'], message: `results would go to ${results}, a system folder`, fix: 'keep results beside the campaign (the default `results`) or in a folder of your own' });
  }
  return problems;
}
