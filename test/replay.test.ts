/**
 * Every committed workflow history (test/fixtures/histories/<version>/) replays on this checkout's
 * workflows: a workflow started by an older miglab survives an upgrade mid-campaign. A change of
 * command order without `patched()` fails here (and the mutants below prove this test can fail).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installRuntime } from '../server/runtime.js';
import { workflowsPath } from '../workers/worker.js';
import { MIGLAB_HISTORY_VERSION } from '../workflows/patches.js';

const root = join(import.meta.dirname, 'fixtures', 'histories');
const versions = readdirSync(root).sort();
const histories = versions.flatMap((v) => {
  const ids = JSON.parse(readFileSync(join(root, v, 'index.json'), 'utf8')) as Record<string, string>;
  return Object.keys(ids).sort().map((f) => ({ version: v, file: f, path: join(root, v, f), workflowId: ids[f]! }));
});
const load = (path: string) => historyFromJSON(JSON.parse(readFileSync(path, 'utf8')));

/** Replays one history on a bundle; resolves to the replay's error, if any. */
async function replay(bundle: WorkflowBundle, h: { path: string; workflowId: string }): Promise<Error | undefined> {
  try {
    await Worker.runReplayHistory({ workflowBundle: bundle }, load(h.path), h.workflowId);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

let bundle: WorkflowBundle;
beforeAll(async () => {
  installRuntime();
  bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath() });
}, 60_000);

describe('committed workflow histories replay on this code', () => {
  it(`has histories of this version (${MIGLAB_HISTORY_VERSION}) and of an older one`, () => {
    expect(versions).toContain(MIGLAB_HISTORY_VERSION);
    expect(versions.length).toBeGreaterThan(1);
    // every outcome of a trial and the campaign's branches, in each version
    for (const v of versions) {
      const names = new Set(histories.filter((h) => h.version === v).map((h) => h.file.split('.')[0]));
      for (const s of ['trial-converged', 'trial-ladder', 'trial-offline', 'trial-failed', 'trial-cancelled', 'campaign-two-lanes', 'campaign-continue-as-new', 'campaign-cancelled']) expect(names, `${v} lacks ${s}`).toContain(s);
    }
  });

  for (const h of histories) {
    it(`${h.version}/${h.file}`, async () => {
      expect(await replay(bundle, h)).toBeUndefined();
    });
  }
});

/**
 * The workflows with one change applied, bundled from a copy beside the real ones (so the SDK
 * resolves from the same node_modules).
 */
async function mutant(file: string, from: string | RegExp, to: string): Promise<WorkflowBundle> {
  const dir = mkdtempSync(join(import.meta.dirname, '..', '.mutant-'));
  mutants.push(dir);
  cpSync(join(import.meta.dirname, '..', 'workflows'), join(dir, 'workflows'), { recursive: true });
  const target = join(dir, 'workflows', file);
  const before = readFileSync(target, 'utf8');
  const after = before.replace(from, to);
  expect(after, `the mutation of ${file} did not apply`).not.toBe(before);
  writeFileSync(target, after);
  return bundleWorkflowCode({ workflowsPath: join(dir, 'workflows', 'index.ts') });
}
const mutants: string[] = [];
afterAll(() => mutants.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the replay test can fail', () => {
  const trialHistory = histories.find((h) => h.version === MIGLAB_HISTORY_VERSION && h.file.startsWith('trial-converged.'))!;
  const oldCampaign = histories.find((h) => h.version !== MIGLAB_HISTORY_VERSION && h.file.startsWith('campaign-one-lane.campaign-run'))!;

  it('a trial whose steps are reordered without patched() does not replay', async () => {
    // start the workload after measuring the dirty rate instead of before
    const b = await mutant(
      'trial.ts',
      /(\s+const started = await step\((?:awaitingCancel\()?WORKLOAD\)?,[^\n]+\n[^\n]+\n)(\s+dirtyRateMiBps = await step\(SHORT,[^\n]+\n)/,
      '$2$1',
    );
    expect((await replay(b, trialHistory))?.message).toMatch(/[Nn]ondeterminis/);
  }, 60_000);

  it("trial steps that wait for a cancel to be acknowledged, without the patch, do not replay an older miglab's cancelled trial", async () => {
    const cancelled = histories.find((h) => h.version === '0.2' && h.file.startsWith('trial-cancelled.'))!;
    const b = await mutant('trial.ts', /patched\(PATCH\.waitForCancelledSteps\) \?/, 'true ?');
    expect((await replay(b, cancelled))?.message).toMatch(/[Nn]ondeterminis/);
    expect(await replay(bundle, cancelled)).toBeUndefined();
  }, 60_000);

  it("a trial that measures the idle guest's dirty rate for the model, without the patch, does not replay an older miglab's trial", async () => {
    const older = histories.find((h) => h.version === '0.3' && h.file.startsWith('trial-converged.'))!;
    const b = await mutant('trial.ts', /patched\(PATCH\.predictPrecopy\)/, 'true');
    expect((await replay(b, older))?.message).toMatch(/[Nn]ondeterminis/);
    expect(await replay(bundle, older)).toBeUndefined();
  }, 60_000);

  it("a campaign that expands its trials from a plan without the patch does not replay an older miglab's run", async () => {
    const older = histories.find((h) => h.version === '0.6' && h.file.startsWith('campaign-one-lane.campaign-run'))!;
    const b = await mutant('campaign.ts', /patched\(PATCH\.campaignPlan\) \?/, 'true ?');
    expect((await replay(b, older))?.message).toMatch(/[Nn]ondeterminis/);
    expect(await replay(bundle, older)).toBeUndefined();
  }, 60_000);

  it("a campaign that names its trials the new way without the patch does not replay an older miglab's run", async () => {
    const b = await mutant('campaign.ts', /patched\(PATCH\.trialWorkflowId\) \?/, 'true ?');
    expect((await replay(b, oldCampaign))?.message).toMatch(/[Nn]ondeterminis/);
    // ... and with the patch it does (the test above)
    expect(await replay(bundle, oldCampaign)).toBeUndefined();
  }, 60_000);
});
