/**
 * The workflow sandbox's border, checked: code under workflows/ runs in Temporal's deterministic
 * sandbox, so it may import only other modules under workflows/, the workflow SDK and
 * @temporalio/common — types from anywhere, since they are erased. A Node or activity import there
 * would fail a campaign at its first workflow task; this check fails the build instead
 * (build-bundle.ts) and the unit tests (test/sandbox-imports.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const SANDBOX_PACKAGES = ['@temporalio/workflow', '@temporalio/common'] as const;

/** `import … from 'x'`, `export … from 'x'`, `import 'x'`: the statement's head and specifier */
const STATIC = /^[ \t]*(?:import|export)\b([^'";]*?)\bfrom\s*['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g;

/** Every import in the workflow sources under `dir` (.ts or compiled .js) that leaves the sandbox. */
export function sandboxImportProblems(dir: string): string[] {
  const root = resolve(dir);
  const problems: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) check(p);
    }
  };
  const check = (file: string) => {
    const text = readFileSync(file, 'utf8');
    const at = (index: number) => `${relative(process.cwd(), file)}:${text.slice(0, index).split('\n').length}`;
    const judge = (spec: string, index: number) => {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (relative(root, target).startsWith('..')) problems.push(`${at(index)}: imports ${spec}, outside the sandbox (${relative(process.cwd(), root)}/): move what it needs in, or import only its types`);
      } else if (!(SANDBOX_PACKAGES as readonly string[]).includes(spec)) {
        problems.push(`${at(index)}: imports ${spec}, which the workflow sandbox must not load (allowed: ${SANDBOX_PACKAGES.join(', ')}, and modules under ${relative(process.cwd(), root)}/)`);
      }
    };
    for (const m of text.matchAll(STATIC)) {
      const [, head = '', spec, bare] = m;
      if (bare) judge(bare, m.index);
      // `import type …` / `export type …` are erased; `export { x } from` and `import { a }` are not
      else if (!/^\s*type\b/.test(head) && spec) judge(spec, m.index);
    }
    for (const m of text.matchAll(DYNAMIC)) judge(m[1]!, m.index);
  };
  walk(root);
  return problems;
}
