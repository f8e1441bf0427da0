/**
 * `miglab verify <campaign.yaml>`: after anything went wrong, is the campaign whole? Trials
 * expected vs recorded, rows recorded twice or half-written, VMs left running on the bed's hosts
 * (orphans) and VMs running on two hosts at once (split brain). Reads the results store and asks
 * each host over SSH; starts and stops no VM.
 */
import { basename } from 'node:path';
import { backendFor } from './backend-for.js';
import { SshPool } from '../activities/ssh/pool.js';
import { loadCampaign } from '../campaign/load.js';
import { expandTrials } from '../campaign/trials.js';
import { UserError } from '../lib/errors.js';
import { siteToInspect } from './site.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

export interface VerifyReport {
  campaign: string;
  expected: number;
  recorded: number;
  /** expected trials with no row */
  lost: string[];
  /** a trial id recorded under more than one file, or a row file left half-written */
  duplicated: string[];
  halfWritten: string[];
  /** VMs alive on a host although no trial runs (the caller says whether one does) */
  orphans: { host: string; vm: string; state: string; owner: string | null }[];
  /** a VM running (not paused, not incoming, not migrated away) on more than one host */
  splitBrain: { vm: string; hosts: string[] }[];
}

export const verifyProblems = (r: VerifyReport) => r.lost.length + r.duplicated.length + r.halfWritten.length + r.orphans.length + r.splitBrain.length;

/**
 * `campaignRunning`: whether the campaign's workflow still runs (then its VMs are not orphans,
 * and its unrecorded trials are not lost yet).
 */
export async function verifyCampaign(o: { file: string; resultsDir?: string; campaignRunning: boolean }): Promise<VerifyReport> {
  const loaded = await loadCampaign(o.file);
  const spec = loaded.spec;
  const store = new ResultsStore(o.resultsDir ?? loaded.resolvePath(spec.results));
  const expected = expandTrials(spec).map((t) => t.id);
  const rows = await store.readTrials<TrialRow>().catch((err: Error) => {
    throw new UserError(`cannot read the trial rows in ${store.dir}: ${err.message}`, 'a damaged row must be moved aside before verifying (the report names it too)');
  });
  const unfinished = (await store.listTrialFiles())?.unfinished ?? [];
  const byId = new Map<string, number>();
  for (const r of rows) byId.set(r.trialId, (byId.get(r.trialId) ?? 0) + 1);
  const recorded = new Set(byId.keys());
  const { site: inv, bed } = await siteToInspect(loaded);
  const pool = new SshPool();
  try {
    const backend = await backendFor(spec.hypervisor, inv, bed, pool);
    const running = new Map<string, string[]>();
    const orphans: VerifyReport['orphans'] = [];
    for (const h of inv.hosts) {
      for (const vm of await backend.listVms(h.name)) {
        if (vm.state.kind === 'absent') continue;
        if (vm.state.kind === 'running') running.set(vm.name, [...(running.get(vm.name) ?? []), h.name]);
        if (!o.campaignRunning) orphans.push({ host: h.name, vm: vm.name, state: vm.state.kind, owner: vm.owner ?? null });
      }
    }
    return {
      campaign: spec.campaign,
      expected: expected.length,
      recorded: recorded.size,
      lost: o.campaignRunning ? [] : expected.filter((id) => !recorded.has(id)),
      duplicated: [...byId].filter(([, n]) => n > 1).map(([id]) => id),
      halfWritten: unfinished.map((f) => basename(f)),
      orphans,
      splitBrain: [...running].filter(([, hosts]) => hosts.length > 1).map(([vm, hosts]) => ({ vm, hosts })),
    };
  } finally {
    await pool.closeAll();
  }
}
