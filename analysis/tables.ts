/**
 * The report's tables, computed with arquero from flat trial records: per-group statistics with
 * 95 % t intervals, outcomes (convergence, ladder steps, fallbacks, failures), the cliff against
 * its prediction, and the paper's memory categories with rows that break their order flagged.
 */
import * as aq from 'arquero';
import { conditionOf, type FlatTrial } from './flatten.js';
import { meanCi, medianInPlace } from './stats.js';

const { op } = aq;

/** The measurements summarised per group, with what the report calls them. */
export const MEASURES = {
  tmtMs: 'TMT (ms)',
  mtMs: 'MT (ms)',
  dtMs: 'DT (ms)',
  dtQemuMs: 'DT hypervisor-reported (ms)',
  dtProbeMs: 'DT network probe (ms)',
  dtGuestMs: 'DT in-guest clock lag (ms)',
  mdMiB: 'MD (MiB)',
  throughputMiBps: 'throughput (MiB/s)',
  e2eMs: 'all attempts: time (ms)',
  e2eMiB: 'all attempts: data (MiB)',
} as const satisfies Partial<Record<keyof FlatTrial, string>>;
export type Measure = keyof typeof MEASURES;
export const MEASURE_KEYS = Object.keys(MEASURES) as Measure[];

export interface Stat {
  n: number;
  mean: number | null;
  median: number | null;
  sd: number | null;
  /**
   * the 95 % Student-t interval of the mean, its lower end cut at 0: every measure here is a
   * time, a size or a rate and cannot be negative (ciCut says when the cut was made)
   */
  ciLo: number | null;
  ciHi: number | null;
  ciCut?: boolean;
}

export interface GroupKey {
  hypervisor: string;
  scenario: string;
  workingSetMiB: number | null;
  /** live and offline moves are different experiments: never averaged together */
  mode: 'live' | 'offline';
}

export type SummaryRow = GroupKey & { trials: number } & Record<Measure, Stat>;

const byGroup = (a: GroupKey, b: GroupKey) =>
  a.hypervisor.localeCompare(b.hypervisor) || a.scenario.localeCompare(b.scenario) || (a.workingSetMiB ?? -1) - (b.workingSetMiB ?? -1) || a.mode.localeCompare(b.mode);

/**
 * The columns `summarize` needs, as an arquero table of moved (live or offline) trials: typed
 * arrays for the measures (NaN where a trial has no value, which arquero's ops skip) keep a
 * million rows cheap.
 */
export function measureTable(rows: readonly FlatTrial[]): { table: aq.ColumnTable; gid: Int32Array; measures: Record<Measure, Float64Array>; groups: GroupKey[] } {
  let n = 0;
  for (const r of rows) if (r.mode !== 'none') n++;
  // One integer group id per row: arquero groups an Int32 column far faster than four key columns.
  const ids = new Map<string, Map<string, Map<number | null, Map<string, number>>>>();
  const groups: GroupKey[] = [];
  const gid = new Int32Array(n);
  const measures = Object.fromEntries(MEASURE_KEYS.map((m) => [m, new Float64Array(n)])) as Record<Measure, Float64Array>;
  let i = 0;
  for (const r of rows) {
    if (r.mode === 'none') continue;
    const byHyp = ids.get(r.hypervisor) ?? ids.set(r.hypervisor, new Map()).get(r.hypervisor)!;
    const scenario = conditionOf(r);
    const byScen = byHyp.get(scenario) ?? byHyp.set(scenario, new Map()).get(scenario)!;
    const byWs = byScen.get(r.workingSetMiB) ?? byScen.set(r.workingSetMiB, new Map()).get(r.workingSetMiB)!;
    let id = byWs.get(r.mode);
    if (id === undefined) {
      id = groups.push({ hypervisor: r.hypervisor, scenario, workingSetMiB: r.workingSetMiB, mode: r.mode }) - 1;
      byWs.set(r.mode, id);
    }
    gid[i] = id;
    // Spelled out: a keyed read per measure (r[m]) is several times slower on a million rows.
    measures.tmtMs[i] = r.tmtMs ?? NaN;
    measures.mtMs[i] = r.mtMs ?? NaN;
    measures.dtMs[i] = r.dtMs ?? NaN;
    measures.dtQemuMs[i] = r.dtQemuMs ?? NaN;
    measures.dtProbeMs[i] = r.dtProbeMs ?? NaN;
    measures.dtGuestMs[i] = r.dtGuestMs ?? NaN;
    measures.mdMiB[i] = r.mdMiB ?? NaN;
    measures.throughputMiBps[i] = r.throughputMiBps ?? NaN;
    measures.e2eMs[i] = r.e2eMs ?? NaN;
    measures.e2eMiB[i] = r.e2eMiB ?? NaN;
    i++;
  }
  return { table: aq.table({ gid, ...measures }), gid, measures, groups };
}

/** n, mean, median, sd and 95 % CI of every measure, per hypervisor × scenario × working set × mode. */
export function summarize(rows: readonly FlatTrial[]): SummaryRow[] {
  const { table: moved, gid, measures, groups } = measureTable(rows);
  if (moved.numRows() === 0) return [];
  const rollups: Record<string, unknown> = { trials: op.count() };
  for (const m of MEASURE_KEYS) {
    rollups[`${m}__n`] = op.valid(m);
    rollups[`${m}__mean`] = op.mean(m);
    rollups[`${m}__sd`] = op.stdev(m);
  }
  const agg = moved.groupby('gid').rollup(rollups as never).objects() as Record<string, unknown>[];
  // arquero's median boxes every value (9 s for a million rows × 8 measures); a quickselect over
  // each group's values takes a fraction of that.
  const medians = new Map<Measure, (number | null)[]>();
  for (const m of MEASURE_KEYS) {
    const col = measures[m];
    const counts = new Uint32Array(groups.length);
    for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i]!)) counts[gid[i]!]!++;
    const buckets = [...counts].map((c) => new Float64Array(c));
    const fill = new Uint32Array(groups.length);
    for (let i = 0; i < col.length; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) buckets[gid[i]!]![fill[gid[i]!]!++] = v;
    }
    medians.set(m, buckets.map(medianInPlace));
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return agg
    .map((g) => {
      const gi = Number(g.gid);
      const row = { ...groups[gi]!, trials: g.trials } as SummaryRow;
      for (const m of MEASURE_KEYS) {
        const n = Number(g[`${m}__n`]);
        const mean = n > 0 ? num(g[`${m}__mean`]) : null;
        const sd = n > 1 ? num(g[`${m}__sd`]) : null;
        const ci = mean !== null && sd !== null ? meanCi(n, mean, sd) : null;
        const cut = ci !== undefined && ci !== null && ci.lo < 0;
        row[m] = { n, mean, median: medians.get(m)![gi] ?? null, sd, ciLo: ci ? Math.max(0, ci.lo) : null, ciHi: ci?.hi ?? null, ...(cut ? { ciCut: true } : {}) };
      }
      return row;
    })
    .sort(byGroup);
}

export interface OutcomeRow {
  hypervisor: string;
  scenario: string;
  workingSetMiB: number | null;
  trials: number;
  /** converged with default precopy (attempt 0) */
  precopy: number;
  /** converged on a ladder step, by step name */
  ladder: Record<string, number>;
  offline: number;
  failed: number;
  /** trials that got across live / all trials */
  convergenceRate: number;
}

export function outcomes(rows: readonly FlatTrial[]): OutcomeRow[] {
  const groups = new Map<string, OutcomeRow>();
  for (const r of rows) {
    const scenario = conditionOf(r);
    const key = `${r.hypervisor}\u0000${scenario}\u0000${r.workingSetMiB}`;
    const g = groups.get(key) ?? { hypervisor: r.hypervisor, scenario, workingSetMiB: r.workingSetMiB, trials: 0, precopy: 0, ladder: {}, offline: 0, failed: 0, convergenceRate: 0 };
    g.trials++;
    if (r.outcome === 'converged' && r.step === 'precopy') g.precopy++;
    else if (r.outcome === 'converged') g.ladder[r.step ?? '?'] = (g.ladder[r.step ?? '?'] ?? 0) + 1;
    else if (r.outcome === 'offline') g.offline++;
    else g.failed++;
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, convergenceRate: (g.precopy + Object.values(g.ladder).reduce((a, b) => a + b, 0)) / g.trials }))
    .sort((a, b) => byGroup({ ...a, mode: 'live' }, { ...b, mode: 'live' }));
}

export interface FailureRow {
  hypervisor: string;
  reason: string;
  count: number;
  trials: string[];
}

export function failures(rows: readonly FlatTrial[]): FailureRow[] {
  const groups = new Map<string, FailureRow>();
  for (const r of rows.filter((x) => x.outcome === 'failed')) {
    const reason = r.failReason ?? '?';
    const key = `${r.hypervisor}\u0000${reason}`;
    const g = groups.get(key) ?? { hypervisor: r.hypervisor, reason, count: 0, trials: [] };
    g.count++;
    g.trials.push(r.trialId);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export interface CliffRow {
  hypervisor: string;
  scenario: string;
  /** bandwidth × downtime limit of default precopy (MiB): above it precopy should stop converging */
  predictedMiB: number | null;
  bandwidthMiBps: number | null;
  downtimeLimitMs: number | null;
  /** the smallest working set at which most informative trials' default precopy did not converge */
  measuredMiB: number | null;
  /** the ramp step below it (all converged there), so the cliff lies in (below, measured] */
  belowMiB: number | null;
  /** the largest working set tried, for "no cliff up to …" */
  largestTriedMiB: number | null;
  /** per working set: default-precopy trials that converged / that told (aborted or converged) */
  perSize: { workingSetMiB: number; converged: number; informative: number }[];
}

/**
 * The measured cliff of each dirty-ramp scenario. A trial is informative when its first attempt
 * (default precopy) ended by converging or by an abort rule; a first attempt that failed on an
 * error says nothing about convergence. The cliff is the smallest size where a majority of the
 * informative trials did not converge.
 */
export function cliffs(rows: readonly FlatTrial[]): CliffRow[] {
  // One pass: hypervisor → scenario → per-size counts, plus the first row that has a plan.
  type Group = { first: FlatTrial; withPlan: FlatTrial | undefined; counts: Map<number, { workingSetMiB: number; converged: number; informative: number }> };
  const byHyp = new Map<string, Map<string, Group>>();
  for (const r of rows) {
    if (r.workingSetMiB === null) continue;
    const scen = byHyp.get(r.hypervisor) ?? byHyp.set(r.hypervisor, new Map()).get(r.hypervisor)!;
    const scenario = conditionOf(r);
    let g = scen.get(scenario);
    if (!g) scen.set(scenario, (g = { first: r, withPlan: undefined, counts: new Map() }));
    if (!g.withPlan && r.bandwidthMiBps !== null && r.downtimeLimitMs !== null) g.withPlan = r;
    let c = g.counts.get(r.workingSetMiB);
    if (!c) g.counts.set(r.workingSetMiB, (c = { workingSetMiB: r.workingSetMiB, converged: 0, informative: 0 }));
    if (r.precopyConverged !== null) c.informative++;
    if (r.precopyConverged) c.converged++;
  }
  const out: CliffRow[] = [];
  for (const { first, withPlan, counts } of [...byHyp.values()].flatMap((m) => [...m.values()])) {
    const perSize = [...counts.values()].sort((a, b) => a.workingSetMiB - b.workingSetMiB);
    const cliffAt = perSize.findIndex((p) => p.informative > 0 && p.converged * 2 < p.informative);
    const bw = withPlan?.bandwidthMiBps ?? null;
    const dl = withPlan?.downtimeLimitMs ?? null;
    out.push({
      hypervisor: first.hypervisor,
      scenario: conditionOf(first),
      predictedMiB: bw !== null && dl !== null ? (bw * dl) / 1000 : null,
      bandwidthMiBps: bw,
      downtimeLimitMs: dl,
      measuredMiB: cliffAt >= 0 ? perSize[cliffAt]!.workingSetMiB : null,
      belowMiB: cliffAt > 0 ? perSize[cliffAt - 1]!.workingSetMiB : null,
      largestTriedMiB: perSize.at(-1)?.workingSetMiB ?? null,
      perSize,
    });
  }
  return out.sort((a, b) => a.hypervisor.localeCompare(b.hypervisor) || a.scenario.localeCompare(b.scenario));
}

/**
 * The measured cliff in words: the size, or none up to the largest size that told (an attempt
 * that failed on an error tells nothing), or not measured when no size told at all.
 */
export function measuredCliffText(c: CliffRow): string {
  if (c.measuredMiB !== null) return `${c.measuredMiB} MiB`;
  const told = c.perSize.filter((p) => p.informative > 0).at(-1);
  return told ? `none up to ${told.workingSetMiB} MiB` : 'not measured (every first attempt failed on an error)';
}

/** The paper's memory order, largest first. */
export const MEMORY_ORDER = ['configuredMiB', 'allocatedOnHostMiB', 'usedInGuestMiB', 'requestedMiB', 'dirtiedMiB'] as const;

export interface MemoryRow extends Pick<FlatTrial, 'trialId' | 'hypervisor' | (typeof MEMORY_ORDER)[number]> {
  /** each adjacent pair (among measured values) that breaks configured ≥ allocated ≥ used ≥ requested ≥ dirtied */
  breaks: string[];
}

const NO_BREAKS: string[] = [];
const LABEL = { configuredMiB: 'configured', allocatedOnHostMiB: 'allocatedOnHost', usedInGuestMiB: 'usedInGuest', requestedMiB: 'requested', dirtiedMiB: 'dirtied' } as const;

export interface MemoryCheck {
  /** trials with memory categories measured */
  checked: number;
  /** how many of them break the order */
  breaking: number;
  /** every checked row when there are at most `listAllUpTo`, else the ones that break the order (the first MEMORY_LIST_CAP) */
  rows: MemoryRow[];
}

/** At most this many breaking rows are listed (all are counted): a long campaign's pattern shows well before. */
export const MEMORY_LIST_CAP = 10_000;

export function memoryCheck(rows: readonly FlatTrial[], listAllUpTo = 60): MemoryCheck {
  let checked = 0;
  let breakingCount = 0;
  const all: MemoryRow[] = [];
  const breaking: MemoryRow[] = [];
  for (const r of rows) {
    if (r.configuredMiB === null) continue;
    checked++;
    let breaks: string[] = NO_BREAKS;
    let prev: (typeof MEMORY_ORDER)[number] | undefined;
    for (const k of MEMORY_ORDER) {
      if (r[k] === null) continue;
      if (prev !== undefined && r[prev]! < r[k]!) breaks = [...breaks, `${LABEL[prev]} < ${LABEL[k]}`];
      prev = k;
    }
    if (breaks.length === 0 && checked > listAllUpTo) continue; // a long campaign lists only the rows that break it
    if (breaks.length) breakingCount++;
    if (breaking.length >= MEMORY_LIST_CAP && checked > listAllUpTo) continue;
    const row = { trialId: r.trialId, hypervisor: r.hypervisor, configuredMiB: r.configuredMiB, allocatedOnHostMiB: r.allocatedOnHostMiB, usedInGuestMiB: r.usedInGuestMiB, requestedMiB: r.requestedMiB, dirtiedMiB: r.dirtiedMiB, breaks };
    if (breaks.length) breaking.push(row);
    if (all.length <= listAllUpTo) all.push(row);
  }
  return { checked, breaking: breakingCount, rows: checked <= listAllUpTo ? all : breaking };
}

/** Did guest memory arrive whole? Trials whose workload was checked after the move, and those with lost writes. */
export function integrity(rows: readonly FlatTrial[]) {
  const checked = rows.filter((r) => r.staleWrites !== null);
  const lost = checked.filter((r) => r.staleWrites! > 0).map((r) => ({ trialId: r.trialId, hypervisor: r.hypervisor, staleWrites: r.staleWrites! }));
  return { checked: checked.length, lost };
}
