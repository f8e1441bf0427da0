/**
 * `miglab run <campaign.yaml>`: validate, bring up the bed (or check the campaign's own hosts), start (or re-attach to) the campaign
 * workflow with a worker in this process, show progress while it runs, end with a summary.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { createCampaignActivities } from '../activities/campaign-activities.js';
import { createTrialActivities } from '../activities/trial-activities.js';
import { loadCampaign } from '../campaign/load.js';
import { expandTrials } from '../campaign/trials.js';
import { UserError } from '../lib/errors.js';
import { SshPool } from '../activities/ssh/pool.js';
import { manifestOf } from '../results/manifest.js';
import { ResultsStore } from '../results/store.js';
import type { TemporalTarget } from '../server/connection.js';
import { TASK_QUEUE } from '../workers/worker.js';
import { hasSearchAttributes, SA } from '../server/search-attributes.js';
import { withBedWorker } from './bed-worker.js';
import { checkHosts, siteToRun } from './site.js';
import type { CampaignInput, CampaignProgress } from '../workflows/campaign.js';
import type { TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;

export interface RunOptions {
  file: string;
  log: (line: string) => void;
  progress: (p: CampaignProgress, elapsedS: number) => void;
  temporal?: TemporalTarget;
  /** where the store lives, overriding the file's `results:` (tests) */
  resultsDir?: string;
  /** the bed's subnet when the run has to bring the bed up */
  bedSubnet?: string;
}

export async function runCampaign(o: RunOptions): Promise<{ workflowId: string; progress: CampaignProgress; rows: TrialRow[]; resultsDir: string; uiUrl: string | undefined }> {
  const loaded = await loadCampaign(o.file);
  const spec = loaded.spec;
  if (spec.hypervisor !== 'qemu') throw new UserError(`hypervisor "${spec.hypervisor}" has no backend yet`, 'use `hypervisor: qemu`');
  const where = await siteToRun(loaded, { ...(o.bedSubnet ? { bedSubnet: o.bedSubnet } : {}), log: o.log });
  const hostNames = where.site.hosts.map((h) => h.name);
  const pairs = spec.pairs ?? [[hostNames[0]!, hostNames[1]!] as [string, string]];
  for (const [s, d] of pairs) {
    for (const h of [s, d]) if (!hostNames.includes(h)) throw new UserError(`pair host "${h}" is not a host of ${spec.bed ? `bed ${spec.bed}` : 'the campaign'}`, `use one of: ${hostNames.join(', ')}`);
  }
  if (!where.bed) {
    const pool = new SshPool();
    try {
      await checkHosts(where, pool);
    } finally {
      await pool.closeAll();
    }
  }
  const resultsDir = o.resultsDir ?? loaded.resolvePath(spec.results);
  const store = new ResultsStore(resultsDir);
  const trials = expandTrials(spec);
  await store.writeManifest(manifestOf(spec));
  const input: CampaignInput = {
    campaign: spec.campaign,
    lanes: pairs.map(([src, dst], i) => ({
      src,
      dst,
      template: {
        spec: where.vmSpec(i),
        migration: {
          maxBandwidth: Math.round(spec.migration.bandwidthMiBps * MiB),
          downtimeLimitMs: spec.migration.downtimeLimitMs,
          completionTimeoutSPerGiB: spec.migration.completionTimeoutSPerGiB,
          stallIterations: spec.migration.stall.iterations,
        },
        ladder: spec.ladder,
        fallback: spec.fallback,
        probeIntervalMs: spec.probe.intervalMs,
        bootTimeoutMs: 120_000,
      },
    })),
    trials: trials.map((t) => {
      const s = spec.scenarios.find((x) => x.name === t.scenario)!;
      return { id: t.id, scenario: t.scenario, workingSetMiB: t.workingSetMiB, rate: s.kind === 'dirty-ramp' ? s.rate : 'max', pattern: s.kind === 'dirty-ramp' ? s.pattern : 'seq' };
    }),
  };

  return withBedWorker(
    { inventory: where.site, temporal: o.temporal, log: o.log },
    ({ pool, backend }) => ({ ...createTrialActivities({ pool, backend, inventory: where.site, store }), ...createCampaignActivities({ store }) }),
    async ({ session, worker }) => {
      const workflowId = `campaign/${spec.campaign}`;
      let handle;
      try {
        const searchAttributes = await hasSearchAttributes(session.connection, session.namespace);
        if (!searchAttributes) o.log('note: the Temporal server lacks miglab\'s search attributes (MiglabCampaign …): trials will not be filterable by them');
        const audited: CampaignInput = { ...input, audit: { hypervisor: spec.hypervisor, searchAttributes } };
        handle = await session.client.workflow.start('campaign', {
          taskQueue: TASK_QUEUE,
          workflowId,
          args: [audited],
          staticSummary: `${spec.campaign}: ${trials.length} trials (${spec.scenarios.map((x) => x.name).join(', ')}) on ${pairs.map((p) => p.join('→')).join(', ')}, ${spec.hypervisor}`,
          ...(searchAttributes ? { typedSearchAttributes: [{ key: SA.campaign, value: spec.campaign }, { key: SA.hypervisor, value: spec.hypervisor }] } : {}),
        });
        o.log(`campaign ${spec.campaign}: ${trials.length} trials on ${pairs.map((p) => p.join('→')).join(', ')}; results in ${resultsDir}`);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        handle = session.client.workflow.getHandle(workflowId);
        o.log(`campaign ${spec.campaign} is already running: attaching to it`);
      }
      const started = Date.now();
      const progress = await worker.runUntil(async () => {
        const result = handle.result() as Promise<CampaignProgress>;
        let finished = false;
        void result.finally(() => (finished = true)).catch(() => undefined);
        while (!finished) {
          try {
            o.progress(await handle.query<CampaignProgress>('progress'), (Date.now() - started) / 1000);
          } catch {
            /* between runs (continue-as-new) the query may miss: try again */
          }
          await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
        }
        return result;
      });
      const rows = (await store.readTrials<TrialRow>()).map((t) => t.row);
      return { workflowId, progress, rows, resultsDir, uiUrl: session.uiUrl };
    },
  );
}

/** One line a trial group: scenario and size, n, outcomes, mean TMT / DT / MD. */
export function summaryTable(rows: readonly TrialRow[]): string {
  const groups = new Map<string, TrialRow[]>();
  for (const r of rows) {
    const [, scenario = '?', size = '?'] = r.trialId.split('/');
    const key = `${scenario} ${size}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const lines = ['scenario / working set      n  converged  offline  failed   TMT ms    DT ms    MD MiB'];
  // Scenarios in the order first seen, sizes ascending (file names sort 4MiB after 48MiB).
  const size = (k: string) => Number(/ (\d+)MiB$/.exec(k)?.[1] ?? -1);
  const scenarioOrder = [...new Set([...groups.keys()].map((k) => k.split(' ')[0]))];
  const ordered = [...groups.entries()].sort(([a], [b]) => scenarioOrder.indexOf(a.split(' ')[0]) - scenarioOrder.indexOf(b.split(' ')[0]) || size(a) - size(b));
  for (const [key, rs] of ordered) {
    const m = rs.map((r) => r.metrics).filter((x): x is NonNullable<typeof x> => x !== null);
    const count = (k: string) => rs.filter((r) => r.outcome.kind === k).length;
    lines.push(
      `${key.padEnd(26)} ${String(rs.length).padStart(2)} ${String(count('converged')).padStart(10)} ${String(count('offline')).padStart(8)} ${String(count('failed')).padStart(7)} ` +
        `${mean(m.map((x) => x.tmtMs)).toFixed(0).padStart(8)} ${mean(m.map((x) => x.dtMs)).toFixed(1).padStart(8)} ${mean(m.map((x) => x.md.totalBytes / MiB)).toFixed(1).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
