/**
 * The audit trail as a user sees it: Debian's Chromium, headless, driven by playwright-core,
 * opens the dev server's Web UI and finds a finished campaign, one of its trials, the trial's
 * summary and the summaries of its steps. The campaign runs its real workflows on the real
 * server; the trial's activities are stubs (this test is about what the UI shows, not the bed).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import { installRuntime } from '../server/runtime.js';
import { SA } from '../workflows/search-attributes.js';
import { workflowsPath } from '../workers/worker.js';
import type { CampaignInput } from '../workflows/campaign.js';
import { campaignWorkflowId, trialWorkflowId, WorkflowType } from '../workflows/names.js';
import { done, input, stall, stubs } from './helpers/trial-stubs.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'miglab-ui-'));
const opts: DevServerOptions = { ip: '127.0.0.1', port: 17278, uiPort: 18278, namespace: 'default', dir };
const ui = `http://127.0.0.1:${opts.uiPort}/namespaces/default`;

describe('the Temporal Web UI shows the audit trail (headless Chromium)', () => {
  let conn: Connection;
  let client: Client;
  let native: NativeConnection;
  let browser: Browser;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), 'scripts/setup.sh installs Debian\'s chromium').toBe(true);
    await ensureDevServer(opts);
    installRuntime();
    conn = await Connection.connect({ address: `${opts.ip}:${opts.port}` });
    client = new Client({ connection: conn });
    native = await NativeConnection.connect({ address: `${opts.ip}:${opts.port}` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await native?.close();
    await conn?.close();
    await stopDevServer(opts);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the finished campaign, filters its trials by search attribute, and shows a trial\'s summary and step summaries', async () => {
    const s = stubs({ live: [stall, done] });
    const acts = s.campaignActs;
    const worker = await Worker.create({ connection: native, taskQueue: 'ui-test', workflowsPath: workflowsPath(), activities: acts });
    const { trialId: _t, src, dst, workload: _w, ...template } = input();
    const campaign: CampaignInput = {
      campaign: 'uicheck',
      lanes: [{ src, dst, template }],
      trials: [{ id: 'uicheck/dirty-ramp/40MiB/r1', scenario: 'dirty-ramp', workingSetMiB: 40, rate: 'max', pattern: 'seq' }],
      audit: { hypervisor: 'qemu', searchAttributes: true },
    };
    await worker.runUntil(
      client.workflow.execute(WorkflowType.campaign, {
        taskQueue: 'ui-test',
        workflowId: campaignWorkflowId('uicheck'),
        args: [campaign],
        staticSummary: 'uicheck: 1 trial (dirty-ramp) on hosta→hostb, qemu',
        typedSearchAttributes: [{ key: SA.campaign, value: 'uicheck' }, { key: SA.hypervisor, value: 'qemu' }],
      }),
    );
    const trialId = trialWorkflowId('uicheck/dirty-ramp/40MiB/r1');
    const runId = (await client.workflow.getHandle(trialId).describe()).runId;

    const page = await browser.newPage();
    try {
      // the workflow list, filtered as a user would: by miglab's search attributes
      const query = encodeURIComponent("MiglabCampaign = 'uicheck' AND MiglabOutcome = 'converged'");
      await page.goto(`${ui}/workflows?query=${query}`);
      await page.getByText(trialId).first().waitFor({ timeout: 30_000 });

      await page.goto(`${ui}/workflows?query=${encodeURIComponent(`WorkflowType = '${WorkflowType.campaign}'`)}`);
      await page.getByText(campaignWorkflowId('uicheck'), { exact: true }).first().waitFor({ timeout: 30_000 });

      // the trial's page: its static summary, and each step's summary in the event history
      await page.goto(`${ui}/workflows/${encodeURIComponent(trialId)}/${runId}/history`);
      await page.getByText('uicheck/dirty-ramp/40MiB/r1: 40 MiB dirtied, vm1 hosta→hostb (qemu, scenario dirty-ramp)').first().waitFor({ timeout: 30_000 });
      await page.getByText('migrate vm1 hosta→hostb, 40 MiB working set, attempt 1: downtime limit 1000 ms, 112 MiB/s').first().waitFor({ timeout: 30_000 });
      await page.getByText('tear down vm1 on hosta and hostb').first().waitFor({ timeout: 30_000 });
    } catch (err) {
      await page.screenshot({ path: join(tmpdir(), 'miglab-ui-failure.png'), fullPage: true }).catch(() => undefined);
      throw err;
    } finally {
      await page.close();
    }
  }, 180_000);
});
