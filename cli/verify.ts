/**
 * `miglab verify <campaign.yaml>`: after anything went wrong, is the campaign whole? Trials
 * expected vs recorded — and, for each one not recorded, whether it is lost or simply was not run
 * (cancelled, still running) —, trials measured twice, rows left half-written, VMs left running on
 * the hosts (orphans) and VMs running on two hosts at once (split brain). Reads the results store
 * and asks each host over SSH; starts and stops no VM. What it could not check it says, and why.
 */
import { basename } from 'node:path';
import { backendForLanes } from './backend-for.js';
import { lanePairs } from '../campaign/pairs.js';
import { SshPool } from '../activities/ssh/pool.js';
import { loadCampaign } from '../campaign/load.js';
import { expandTrials } from '../campaign/trials.js';
import { UserError } from '../lib/errors.js';
import { siteToInspect } from './site.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

/** The campaign workflow's state on the Temporal server, or why it is not known. */
export type CampaignState =
  | { state: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'TERMINATED' | 'FAILED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' }
  | { state: 'unknown'; reason: string };

export interface StoreCheck {
  expected: number;
  recorded: number;
  /** trials that should have a row and have none: the campaign completed without recording them */
  lost: string[];
  /** no row because the campaign ended (cancelled, terminated, failed) before it ran or finished them */
  notRun: string[];
  /** the campaign still runs: not recorded yet */
  pending: string[];
  /** the campaign's state is not known, so lost cannot be told from not run */
  unaccounted: string[];
  /** trials with a second, different row (kept in duplicates/): measured twice */
  duplicated: string[];
  /** row files whose writer died between writing and linking */
  halfWritten: string[];
}

export interface VerifyReport extends StoreCheck {
  campaign: string;
  campaignState: string;
  /** VMs alive on a host although the campaign does not run */
  orphans: { host: string; vm: string; state: string; owner: string | null }[];
  /** a VM running (not paused, not incoming, not migrated away) on more than one host */
  splitBrain: { vm: string; hosts: string[] }[];
  /** what verify could not check, and why */
  notChecked: { what: string; why: string }[];
}

export const verifyProblems = (r: VerifyReport) =>
  r.lost.length + r.unaccounted.length + r.duplicated.length + r.halfWritten.length + r.orphans.length + r.splitBrain.length;

/** The results store against the trials the campaign expects, given where the campaign stands. */
export async function checkStore(store: ResultsStore, expected: readonly string[], campaign: CampaignState): Promise<StoreCheck> {
  const rows = await store.readTrials<TrialRow>().catch((err: Error) => {
    throw new UserError(`cannot read the trial rows in ${store.dir}: ${err.message}`, 'a damaged row must be moved aside before verifying (the report names it too)');
  });
  const recorded = new Set(rows.map((r) => r.trialId));
  const missing = expected.filter((id) => !recorded.has(id));
  const s = campaign.state;
  return {
    expected: expected.length,
    recorded: expected.filter((id) => recorded.has(id)).length,
    lost: s === 'COMPLETED' ? missing : [],
    notRun: s === 'CANCELLED' || s === 'TERMINATED' || s === 'FAILED' || s === 'TIMED_OUT' ? missing : [],
    pending: s === 'RUNNING' || s === 'CONTINUED_AS_NEW' ? missing : [],
    unaccounted: s === 'unknown' ? missing : [],
    duplicated: await store.duplicatedTrials(),
    halfWritten: ((await store.listTrialFiles())?.unfinished ?? []).map((f) => basename(f)),
  };
}

export async function verifyCampaign(o: { file: string; resultsDir?: string; campaign: CampaignState }): Promise<VerifyReport> {
  const loaded = await loadCampaign(o.file);
  const spec = loaded.spec;
  const store = new ResultsStore(o.resultsDir ?? loaded.resolvePath(spec.results));
  const stored = await checkStore(store, expandTrials(spec).map((t) => t.id), o.campaign);
  const running = o.campaign.state === 'RUNNING' || o.campaign.state === 'CONTINUED_AS_NEW';
  const notChecked: VerifyReport['notChecked'] = [];
  if (o.campaign.state === 'unknown') notChecked.push({ what: 'whether the trials without a row are lost or were not run', why: o.campaign.reason });
  const { site: inv, bed } = await siteToInspect(loaded);
  const pool = new SshPool();
  try {
    const backend = await backendForLanes(lanePairs(spec, inv.hosts.map((h) => h.name)), spec.hypervisor, inv, bed, pool);
    const runningOn = new Map<string, string[]>();
    const orphans: VerifyReport['orphans'] = [];
    for (const h of inv.hosts) {
      let vms;
      try {
        vms = await backend.listVms(h.name);
      } catch (err) {
        notChecked.push({ what: `the VMs on ${h.name}`, why: (err as Error).message });
        continue;
      }
      for (const vm of vms) {
        if (vm.state.kind === 'absent') continue;
        if (vm.state.kind === 'unreadable') notChecked.push({ what: `the state of ${vm.name} on ${h.name} (so split brain for it)`, why: vm.state.reason });
        if (vm.state.kind === 'running') runningOn.set(vm.name, [...(runningOn.get(vm.name) ?? []), h.name]);
        if (!running) orphans.push({ host: h.name, vm: vm.name, state: vm.state.kind, owner: vm.owner ?? null });
      }
    }
    return {
      campaign: spec.campaign,
      campaignState: o.campaign.state,
      ...stored,
      orphans,
      splitBrain: [...runningOn].filter(([, hosts]) => hosts.length > 1).map(([vm, hosts]) => ({ vm, hosts })),
      notChecked,
    };
  } finally {
    await pool.closeAll();
  }
}
