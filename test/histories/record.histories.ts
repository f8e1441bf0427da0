/**
 * `npm run record:histories [-- --version 0.2]`: runs every scenario of scenarios.ts on a fresh dev
 * server and writes each workflow's history to test/fixtures/histories/<version>/<scenario>.<n>.json
 * (MIGLAB_WORKFLOWS points at another checkout's workflows/index.ts to record an older miglab).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, it } from 'vitest';
import { startTestTemporal, type TestTemporal } from '../helpers/temporal.js';
import { workflowsPath } from '../../workers/worker.js';
import { temporalCli } from '../../server/temporal-cli.js';
import { MIGLAB_HISTORY_VERSION } from '../../workflows/patches.js';
import { scenarios } from './scenarios.js';

const version = process.env.MIGLAB_HISTORY_VERSION ?? MIGLAB_HISTORY_VERSION;
const path = process.env.MIGLAB_WORKFLOWS ?? workflowsPath();
const out = join(import.meta.dirname, '..', 'fixtures', 'histories', version);
let t: TestTemporal;
/** file → the workflow id it was recorded under (replay needs it: a child's id derives from its parent's) */
const index: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestTemporal('histories');
  mkdirSync(out, { recursive: true });
}, 120_000);
afterAll(async () => {
  writeFileSync(join(out, 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
  await t?.close();
});

for (const [name, run] of Object.entries(scenarios)) {
  it(`records ${name} (${version})`, async () => {
    const recorded = await run(t, path);
    let i = 0;
    for (const r of recorded) {
      // the CLI's JSON export, the format `temporal workflow show` users already have
      const { workflowId, runId } = r;
      const json = execFileSync(temporalCli(), ['workflow', 'show', '--address', `${t.options.ip}:${t.options.port}`, '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json'], { encoding: 'utf8' });
      const file = `${name}.${r.name}.${i++}.json`;
      writeFileSync(join(out, file), `${JSON.stringify(JSON.parse(json))}\n`);
      index[file] = workflowId;
    }
  }, 120_000);
}
