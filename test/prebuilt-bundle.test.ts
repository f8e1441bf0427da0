/**
 * The prebuilt workflow bundle (workers/prebuilt-bundle.ts): a real webpack bundle of a real
 * workflow module, used only while the compiled code it was built from is unchanged.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prebuiltBundle, writePrebuiltBundle } from '../workers/prebuilt-bundle.js';

// inside the repository, so the bundler finds @temporalio/workflow in its node_modules
const dir = mkdtempSync(join(process.cwd(), '.bundle-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prebuilt workflow bundle', () => {
  it('is used while the code matches, and ignored once any compiled module or the stamp changes', async () => {
    mkdirSync(join(dir, 'workflows'));
    writeFileSync(join(dir, 'workflows', 'index.js'), "export async function hello(name) { return `hello ${name}`; }\n");
    writeFileSync(join(dir, 'helper.js'), 'export const x = 1;\n');
    expect(prebuiltBundle(dir)).toBeUndefined(); // none built yet
    const path = await writePrebuiltBundle(join(dir, 'workflows', 'index.js'), dir);
    expect(readFileSync(path, 'utf8')).toContain('hello ');
    expect(prebuiltBundle(dir)).toBe(path);
    // a module the bundle does not even import: still a change to the code it stands for
    writeFileSync(join(dir, 'helper.js'), 'export const x = 2;\n');
    expect(prebuiltBundle(dir)).toBeUndefined();
    writeFileSync(join(dir, 'helper.js'), 'export const x = 1;\n');
    expect(prebuiltBundle(dir)).toBe(path);
    writeFileSync(join(dir, 'workflow-bundle.sha256'), 'damaged\n');
    expect(prebuiltBundle(dir)).toBeUndefined();
  }, 60_000);

  it('from source (vitest) there is none, and none is written', async () => {
    expect(prebuiltBundle()).toBeUndefined();
    await expect(writePrebuiltBundle(join(dir, 'workflows', 'index.js'))).rejects.toThrow(/npm run build/);
  });
});
