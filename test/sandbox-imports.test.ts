import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandboxImportProblems } from '../workers/sandbox-imports.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-sandbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plant(name: string, text: string): string {
  const wf = join(dir, name, 'workflows');
  mkdirSync(wf, { recursive: true });
  writeFileSync(join(wf, 'index.ts'), text);
  return wf;
}

describe('the workflow sandbox border', () => {
  it("miglab's own workflows import only the SDK, @temporalio/common and each other (types from anywhere)", () => {
    expect(sandboxImportProblems(join(import.meta.dirname, '..', 'workflows'))).toEqual([]);
  });

  it('refuses a Node import, an activity module, a package and a dynamic import, each with file:line', () => {
    const wf = plant('bad', [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import type { VmSpec } from '../activities/qemu/vm-spec.js';",
      "import { readFileSync } from 'node:fs';",
      "import {",
      "  labVmSpec,",
      "} from '../lab/guest.js';",
      "export { SshPool } from '../activities/ssh/pool.js';",
      "import 'node-ssh';",
      "const m = await import('node:child_process');",
      "import { ladder } from './ladder.js';",
    ].join('\n'));
    const problems = sandboxImportProblems(wf);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/index\.ts:3: imports node:fs, which the workflow sandbox must not load/);
    expect(problems[1]).toMatch(/index\.ts:4: imports \.\.\/lab\/guest\.js, outside the sandbox/);
    expect(problems[2]).toMatch(/index\.ts:7: imports \.\.\/activities\/ssh\/pool\.js, outside/);
    expect(problems[3]).toMatch(/index\.ts:8: imports node-ssh/);
    expect(problems[4]).toMatch(/index\.ts:9: imports node:child_process/);
  });

  it('accepts type-only imports and exports from anywhere', () => {
    const wf = plant('good', [
      "import type { VmSpec } from '../activities/qemu/vm-spec.js';",
      "export type { TrialRow } from './trial-types.js';",
      "export type { QueryMigrate } from '../activities/qemu/backend.js';",
      "import { defineSearchAttributeKey } from '@temporalio/common';",
    ].join('\n'));
    expect(sandboxImportProblems(wf)).toEqual([]);
  });
});
