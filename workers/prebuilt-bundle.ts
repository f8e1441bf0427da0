/**
 * The workflow bundle built once with the code (`npm run build`, scripts/setup.sh) instead of at
 * every worker start (about 2 s). It is used only while it matches the compiled code it was built
 * from: a bundle older than the code it would stand for is ignored, and the worker bundles afresh.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

/** dist/, where this file runs from once compiled; from source (vitest) there is no prebuilt bundle */
const distDir = import.meta.url.endsWith('.js') ? fileURLToPath(new URL('..', import.meta.url)) : undefined;
const BUNDLE = 'workflow-bundle.js';
const STAMP = 'workflow-bundle.sha256';

/** Every compiled module (a workflow may import any of them) and the workflow SDK's version. */
function codeDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && e.name !== BUNDLE) hash.update(relative(dir, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(dir);
  const sdk = fileURLToPath(new URL('../../node_modules/@temporalio/workflow/package.json', import.meta.url));
  if (existsSync(sdk)) hash.update(readFileSync(sdk));
  return hash.digest('hex');
}

/** The prebuilt bundle's path if it was built from exactly the code in `dir`, else undefined. */
export function prebuiltBundle(dir = distDir): string | undefined {
  if (!dir) return undefined;
  const code = join(dir, BUNDLE);
  const stamp = join(dir, STAMP);
  if (!existsSync(code) || !existsSync(stamp)) return undefined;
  return readFileSync(stamp, 'utf8').trim() === codeDigest(dir) ? code : undefined;
}

/** Bundles the workflows in `dir` and stamps the bundle with the code it was built from. */
export async function writePrebuiltBundle(workflowsPath: string, dir = distDir): Promise<string> {
  if (!dir) throw new Error('miglab: the workflow bundle is built from the compiled code (run `npm run build`)');
  const { code } = await bundleWorkflowCode({ workflowsPath });
  const digest = codeDigest(dir);
  writeFileSync(join(dir, BUNDLE), code);
  writeFileSync(join(dir, STAMP), `${digest}\n`);
  return join(dir, BUNDLE);
}
