/**
 * `miglab predict <campaign>`: every trial's prediction from the precopy model, without running
 * anything. The model's inputs come from the campaign's results store when it has rows (medians of
 * what earlier trials measured before they migrated), else from the options, else from stated
 * assumptions; each input says which.
 */
import { existsSync } from 'node:fs';
import { loadCampaign } from '../campaign/load.js';
import { expandTrials } from '../campaign/trials.js';
import { hypervisorsOf, onlyXen } from '../campaign/pairs.js';
import { ResultsStore } from '../results/store.js';
import { planAttempts } from '../workflows/ladder.js';
import { DEFAULT_OVERHEADS, predictTrial, type ModelGuest, type ModelLink, type Prediction } from '../workflows/precopy-model.js';
import { serviceWriteMiBps } from '../workflows/trial-prediction.js';
import { quantile } from '../analysis/model-fit.js';
import type { TrialRow } from '../workflows/trial-types.js';
import { UserError } from '../lib/errors.js';

export interface PredictOptions {
  /** the guest's memory in use without a workload (MiB) */
  guestBaseMiB?: number;
  idleDirtyMiBps?: number;
  /** how fast a flat-out workload writes (MiB/s) */
  writeRateMiBps?: number;
  bandwidthMiBps?: number;
  /** a results folder other than the campaign's own */
  results?: string;
}

export type InputSource = 'option' | `measured (${number} trials)` | 'cap' | 'assumed';

export interface CampaignPrediction {
  campaign: string;
  /** the bandwidth caps a factor sets, each trial's own (empty: the campaign's cap for all) */
  capLevels?: number[];
  /** trials not predicted, and why */
  leftOut?: { trials: number; why: string };
  inputs: {
    guestBaseMiB: { value: number; source: InputSource };
    idleDirtyMiBps: { value: number; source: InputSource };
    /** null: assumed to re-dirty the working set within every pass */
    writeRateMiBps: { value: number | null; source: InputSource };
    bandwidth: ModelLink & { from: InputSource; switchoverFrom?: InputSource };
  };
  trials: { id: string; workingSetMiB: number | null; prediction: Omit<Prediction, 'attempts'> & { attempts: { index: number; name: string; end: string; passes: number }[] } }[];
}

/** A guest of the local bed's image uses about this much without a workload (measured: MemTotal − MemFree). */
const ASSUMED_GUEST_BASE_MIB = 40;
/** a flat-out workload under this rate re-dirties any working set within any pass */
const FLAT_OUT_MIBPS = 1e6;
const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** The model's inputs for a campaign: its recorded trials' medians, the options over them, else assumptions. */
export async function campaignModelInputs(file: string, o: PredictOptions = {}) {
  const loaded = await loadCampaign(file);
  const { spec, resolvePath } = loaded;
  const allXen = onlyXen(spec);
  if (allXen && o.bandwidthMiBps === undefined) {
    throw new UserError(`${file}: a Xen campaign has no bandwidth cap for the model to assume (xl applies none)`, 'give the bandwidth Xen reaches between your hosts: --bandwidth <MiB/s>');
  }
  const dir = o.results ?? resolvePath(spec.results);
  const rows = existsSync(dir) ? (await new ResultsStore(dir).readTrials<TrialRow>()).map((r) => r.row) : [];
  const measured = <T>(pick: (r: TrialRow) => T | null | undefined, of = rows) => of.map(pick).filter((v): v is T => v !== null && v !== undefined);
  // beside QEMU or libvirt pairs, what uncapped Xen moves reached says nothing of the cap
  // the trials, expanded once if needed here (predict needs them too; advise does not)
  let expanded: ReturnType<typeof expandTrials> | undefined;
  const trials = () => (expanded ??= expandTrials(spec));
  const xenIds = allXen ? new Set<string>() : new Set(trials().filter((t) => t.levels?.hypervisor === 'xen').map((t) => t.id));
  const cappedRows = rows.filter((r) => !xenIds.has(r.trialId));

  // the host's count of non-zero pages less the working set (rows before miglab 0.4: the guest's own, lower, view)
  const bases = measured((r) => {
    const m = r.memory;
    const seen = m?.nonZeroOnHostMiB ?? m?.notFreeInGuestMiB;
    return m && seen != null ? seen - m.requestedMiB : null;
  });
  const idles = measured((r) => r.idleDirtyRateMiBps);
  const writes = measured((r) => r.workloadWriteMiBps);
  const capMiBps = spec.migration.bandwidthMiBps ?? 0;
  // what completed first attempts reached: the cap, unless the hosts could not
  const reached = measured((r) => (r.outcome.kind === 'converged' && r.outcome.attempt === 0 && r.metrics ? r.metrics.md.totalBytes / 2 ** 20 / Math.max(1e-3, (r.metrics.tmtMs - (r.metrics.downtime.qemuMs ?? 0)) / 1000) : null), cappedRows);
  const pick = (option: number | undefined, values: number[], fallback: number | null): { value: number | null; source: InputSource } =>
    option !== undefined ? { value: option, source: 'option' } : values.length ? { value: median(values)!, source: `measured (${values.length} trials)` } : { value: fallback, source: 'assumed' };
  const base = pick(o.guestBaseMiB, bases, ASSUMED_GUEST_BASE_MIB) as { value: number; source: InputSource };
  const idle = pick(o.idleDirtyMiBps, idles, 0) as { value: number; source: InputSource };
  const write = pick(o.writeRateMiBps, writes, null);
  // the stop-and-copy's own rate (uncapped): downtime bytes over the hypervisor's downtime
  const switchovers = measured((r) => (r.metrics && (r.metrics.md.downtimeBytes ?? 0) > 2 ** 20 && (r.metrics.downtime.qemuMs ?? 0) > 0 ? r.metrics.md.downtimeBytes! / 2 ** 20 / (r.metrics.downtime.qemuMs! / 1000) : null), cappedRows);
  const switchover = median(switchovers);
  const reachedMedian = median(reached);
  const bandwidth: CampaignPrediction['inputs']['bandwidth'] =
    o.bandwidthMiBps !== undefined
      ? { bandwidthMiBps: o.bandwidthMiBps, source: 'measured', from: 'option' }
      : reachedMedian !== null && reachedMedian < 0.95 * capMiBps
        ? { bandwidthMiBps: reachedMedian, source: 'measured', from: `measured (${reached.length} trials)` }
        : { bandwidthMiBps: capMiBps, source: 'cap', from: 'cap' };
  if (switchover !== null) Object.assign(bandwidth, { switchoverMiBps: switchover, switchoverFrom: `measured (${switchovers.length} trials)` });
  /** what the hosts reached below the cap, when they did not reach it: no setting can go faster */
  const reachedMiBps = reachedMedian !== null && reachedMedian < 0.95 * capMiBps ? reachedMedian : null;
  const inputs: CampaignPrediction['inputs'] = { guestBaseMiB: base, idleDirtyMiBps: idle, writeRateMiBps: write, bandwidth };
  // the rules of a capped hypervisor where the campaign has one (each trial's own when predicted)
  const rules = { hypervisor: allXen ? spec.hypervisor : hypervisorsOf(spec).find((k) => k !== 'xen')!, stallIterations: spec.migration.stall.iterations, completionTimeoutSPerGiB: spec.migration.completionTimeoutSPerGiB, fallback: spec.fallback };
  /** the guest as the model sees it with a working set of `mib` (null: idle) written at `rate` */
  const guestWith = (mib: number | null, rate: 'max' | number, pattern: 'seq' | 'random', memoryMiB = spec.vm.memoryMiB): ModelGuest => ({
    memoryMiB,
    nonZeroMiB: Math.min(memoryMiB, base.value + (mib ?? 0)),
    workload: mib === null ? null : { workingSetMiB: mib, writeRateMiBps: rate === 'max' ? (write.value ?? FLAT_OUT_MIBPS) : rate, pattern },
    idleDirtyMiBps: idle.value,
  });
  return { loaded, spec, inputs, rules, guestWith, reachedMiBps, allXen, trials };
}

export async function predictCampaign(file: string, o: PredictOptions = {}): Promise<CampaignPrediction> {
  const { spec, inputs, rules, guestWith, allXen, trials: expand } = await campaignModelInputs(file, o);
  const all = expand();
  const hypervisorOf = (t: (typeof all)[number]) => t.levels?.hypervisor ?? spec.hypervisor;
  // Xen trials beside capped pairs: xl applies no cap, so only a bandwidth given for them predicts them
  const unpredictable = !allXen && o.bandwidthMiBps === undefined ? all.filter((t) => hypervisorOf(t) === 'xen') : [];
  const planned = unpredictable.length ? all.filter((t) => hypervisorOf(t) !== 'xen') : all;
  const trials = planned.map((t) => {
    const xen = hypervisorOf(t) === 'xen';
    // a trial's factor levels set its cap and limit (the model knows nothing of xbzrle or multifd: it predicts them as plain precopy)
    const capLevel = t.levels?.bandwidthMiBps;
    // hosts that reached less than the campaign's cap reach less than a level above it too
    const bandwidth = capLevel !== undefined && inputs.bandwidth.from !== 'option' && !(inputs.bandwidth.source === 'measured' && inputs.bandwidth.bandwidthMiBps < capLevel)
      ? { ...inputs.bandwidth, bandwidthMiBps: capLevel, source: 'cap' as const, from: 'cap' }
      : inputs.bandwidth;
    const plans = planAttempts({ maxBandwidth: bandwidth.bandwidthMiBps * 2 ** 20, downtimeLimitMs: t.levels?.downtimeLimitMs ?? spec.migration.downtimeLimitMs }, xen ? [] : spec.ladder);
    const scenario = spec.scenarios.find((s) => s.name === t.scenario)!;
    const w = scenario.kind === 'dirty-ramp' && t.workingSetMiB !== null ? scenario : null;
    // a service's SETs rewrite its key set in turn: a sequential writer at the schedule's byte rate
    const guest = scenario.kind === 'service'
      ? guestWith(t.workingSetMiB, serviceWriteMiBps({ ...scenario, keySetMiB: t.workingSetMiB! }), 'seq', t.levels?.memoryMiB)
      : guestWith(w ? t.workingSetMiB : null, w?.rate ?? 'max', w?.pattern ?? 'seq', t.levels?.memoryMiB);
    const p = predictTrial(guest, bandwidth, plans, { ...rules, hypervisor: hypervisorOf(t) }, DEFAULT_OVERHEADS);
    return { id: t.id, workingSetMiB: t.workingSetMiB, prediction: { ...p, attempts: p.attempts.map((a) => ({ index: a.index, name: a.name, end: a.end, passes: a.passes.length })) } };
  });
  const capLevels = [...new Set(planned.flatMap((t) => (t.levels?.bandwidthMiBps !== undefined ? [t.levels.bandwidthMiBps] : [])))].sort((a, b) => a - b);
  const leftOut = unpredictable.length ? { leftOut: { trials: unpredictable.length, why: 'Xen trials: xl applies no bandwidth cap; give the bandwidth Xen reaches between your hosts with --bandwidth <MiB/s> (it then stands for every trial\'s)' } } : {};
  return { campaign: spec.campaign, inputs, trials, ...(capLevels.length ? { capLevels } : {}), ...leftOut };
}

/** The prediction as a table: one line per trial, repetitions folded (the model gives them the same numbers). */
export function formatPrediction(p: CampaignPrediction): string {
  const i = p.inputs;
  const capLevels = p.capLevels ?? [];
  const lines = [
    `campaign ${p.campaign}: the precopy model's prediction (nothing was run)`,
    `  guest memory in use without a workload: ${i.guestBaseMiB.value.toFixed(1)} MiB (${i.guestBaseMiB.source}); idle dirty rate ${i.idleDirtyMiBps.value.toFixed(2)} MiB/s (${i.idleDirtyMiBps.source})`,
    `  flat-out write rate: ${i.writeRateMiBps.value === null ? 're-dirties its working set within every pass' : `${i.writeRateMiBps.value.toFixed(0)} MiB/s`} (${i.writeRateMiBps.source}); bandwidth ${capLevels.length && i.bandwidth.from === 'cap' ? `each trial's cap level (${capLevels.join(', ')} MiB/s)` : `${i.bandwidth.bandwidthMiBps.toFixed(1)} MiB/s (${i.bandwidth.from})`}; the last copy, VM stopped: ${i.bandwidth.switchoverMiBps === undefined ? 'at that bandwidth (none measured: DT is an upper bound)' : `${i.bandwidth.switchoverMiBps.toFixed(0)} MiB/s (${i.bandwidth.switchoverFrom})`}`,
    '',
    `${'trial'.padEnd(56)} ${'verdict'.padEnd(30)} ${'passes'.padStart(6)} ${'TMT s'.padStart(8)} ${'DT ms'.padStart(8)} ${'MD MiB'.padStart(8)}`,
  ];
  const seen = new Set<string>();
  for (const t of p.trials) {
    const key = t.id.replace(/\/r\d+$/, '');
    if (seen.has(key)) continue;
    seen.add(key);
    const x = t.prediction;
    const verdict = x.verdict === 'converged' ? `live, ${x.step}` : x.verdict;
    const n = (v: number | null, f: (v: number) => string) => (v === null ? '–' : f(v));
    lines.push(`${`${key}/r*`.padEnd(56)} ${verdict.slice(0, 30).padEnd(30)} ${n(x.passes, String).padStart(6)} ${n(x.tmtMs, (v) => (v / 1000).toFixed(2)).padStart(8)} ${n(x.dtMs, (v) => v.toFixed(0)).padStart(8)} ${n(x.mdBytes, (v) => (v / 2 ** 20).toFixed(1)).padStart(8)}`);
  }
  const first = p.trials[0]?.prediction;
  if (first) lines.push('', `model cliff (first attempt): ${first.cliffMiB.toFixed(1)} MiB`);
  if (p.leftOut) lines.push('', `not predicted: ${p.leftOut.trials} trials (${p.leftOut.why})`);
  return lines.join('\n');
}
