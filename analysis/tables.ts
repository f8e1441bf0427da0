/**
 * The report's tables, computed with arquero from flat trial records: per-group statistics with
 * 95 % t intervals, outcomes (convergence, ladder steps, fallbacks, failures), the cliff against
 * its prediction, and the paper's memory categories with rows that break their order flagged.
 */
import * as aq from 'arquero';
import type { FlatTrial } from './flatten.js';
import { meanCi } from './stats.js';

const { op } = aq;

/** The measurements summarised per group, with what the report calls them. */
export const MEASURES = {
  tmtMs: 'TMT (ms)',
  mtMs: 'MT (ms)',
  dtMs: 'DT (ms)',
  dtQemuMs: 'DT QEMU-reported (ms)',
  dtProbeMs: 'DT network probe (ms)',
  dtGuestMs: 'DT in-guest clock lag (ms)',
  mdMiB: 'MD (MiB)',
  throughputMiBps: 'throughput (MiB/s)',
} as const satisfies Partial<Record<keyof FlatTrial, string>>;
export type Measure = keyof typeof MEASURES;
export const MEASURE_KEYS = Object.keys(MEASURES) as Measure[];

export interface Stat {
  n: number;
  mean: number | null;
  median: number | null;
  sd: number | null;
  ciLo: number | null;
  ciHi: number | null;
}

export interface GroupKey {
  hypervisor: string;
  scenario: string;
  workingSetMiB: number | null;
  /** live and offline moves are different experiments: never averaged together */
  mode: 'live' | 'offline';
}

export type SummaryRow = GroupKey & { trials: number } & Record<Measure, Stat>;

const GROUP = ['hypervisor', 'scenario', 'workingSetMiB', 'mode'] as const;

const byGroup = (a: GroupKey, b: GroupKey) =>
  a.hypervisor.localeCompare(b.hypervisor) || a.scenario.localeCompare(b.scenario) || (a.workingSetMiB ?? -1) - (b.workingSetMiB ?? -1) || a.mode.localeCompare(b.mode);

/** n, mean, median, sd and 95 % CI of every measure, per hypervisor × scenario × working set × mode. */
export function summarize(table: aq.ColumnTable): SummaryRow[] {
  const moved = table.filter((d: FlatTrial) => d.mode !== 'none');
  if (moved.numRows() === 0) return [];
  const rollups: Record<string, unknown> = { trials: op.count() };
  for (const m of MEASURE_KEYS) {
    rollups[`${m}__n`] = op.valid(m);
    rollups[`${m}__mean`] = op.mean(m);
    rollups[`${m}__median`] = op.median(m);
    rollups[`${m}__sd`] = op.stdev(m);
  }
  const agg = moved.groupby(...GROUP).rollup(rollups as never).objects() as Record<string, unknown>[];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return agg
    .map((g) => {
      const row = { hypervisor: g.hypervisor, scenario: g.scenario, workingSetMiB: g.workingSetMiB ?? null, mode: g.mode, trials: g.trials } as SummaryRow;
      for (const m of MEASURE_KEYS) {
        const n = Number(g[`${m}__n`]);
        const mean = n > 0 ? num(g[`${m}__mean`]) : null;
        const sd = n > 1 ? num(g[`${m}__sd`]) : null;
        const ci = mean !== null && sd !== null ? meanCi(n, mean, sd) : null;
        row[m] = { n, mean, median: n > 0 ? num(g[`${m}__median`]) : null, sd, ciLo: ci?.lo ?? null, ciHi: ci?.hi ?? null };
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
    const key = JSON.stringify([r.hypervisor, r.scenario, r.workingSetMiB]);
    const g = groups.get(key) ?? { hypervisor: r.hypervisor, scenario: r.scenario, workingSetMiB: r.workingSetMiB, trials: 0, precopy: 0, ladder: {}, offline: 0, failed: 0, convergenceRate: 0 };
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
    const key = JSON.stringify([r.hypervisor, reason]);
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
  const groups = new Map<string, FlatTrial[]>();
  for (const r of rows.filter((x) => x.workingSetMiB !== null)) {
    const key = JSON.stringify([r.hypervisor, r.scenario]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: CliffRow[] = [];
  for (const rs of groups.values()) {
    const sizes = [...new Set(rs.map((r) => r.workingSetMiB!))].sort((a, b) => a - b);
    const perSize = sizes.map((s) => {
      const told = rs.filter((r) => r.workingSetMiB === s && r.precopyConverged !== null);
      return { workingSetMiB: s, converged: told.filter((r) => r.precopyConverged).length, informative: told.length };
    });
    const cliffAt = perSize.findIndex((p) => p.informative > 0 && p.converged * 2 < p.informative);
    const withPlan = rs.find((r) => r.bandwidthMiBps !== null && r.downtimeLimitMs !== null);
    const bw = withPlan?.bandwidthMiBps ?? null;
    const dl = withPlan?.downtimeLimitMs ?? null;
    out.push({
      hypervisor: rs[0]!.hypervisor,
      scenario: rs[0]!.scenario,
      predictedMiB: bw !== null && dl !== null ? (bw * dl) / 1000 : null,
      bandwidthMiBps: bw,
      downtimeLimitMs: dl,
      measuredMiB: cliffAt >= 0 ? perSize[cliffAt]!.workingSetMiB : null,
      belowMiB: cliffAt > 0 ? perSize[cliffAt - 1]!.workingSetMiB : null,
      largestTriedMiB: sizes.at(-1) ?? null,
      perSize,
    });
  }
  return out.sort((a, b) => a.hypervisor.localeCompare(b.hypervisor) || a.scenario.localeCompare(b.scenario));
}

/** The paper's memory order, largest first. */
export const MEMORY_ORDER = ['configuredMiB', 'allocatedOnHostMiB', 'usedInGuestMiB', 'requestedMiB', 'dirtiedMiB'] as const;

export interface MemoryRow extends Pick<FlatTrial, 'trialId' | 'hypervisor' | (typeof MEMORY_ORDER)[number]> {
  /** each adjacent pair (among measured values) that breaks configured ≥ allocated ≥ used ≥ requested ≥ dirtied */
  breaks: string[];
}

export function memoryRows(rows: readonly FlatTrial[]): MemoryRow[] {
  return rows
    .filter((r) => r.configuredMiB !== null)
    .map((r) => {
      const present = MEMORY_ORDER.filter((k) => r[k] !== null);
      const breaks: string[] = [];
      for (let i = 1; i < present.length; i++) {
        const a = present[i - 1]!, b = present[i]!;
        if (r[a]! < r[b]!) breaks.push(`${a.replace('MiB', '')} < ${b.replace('MiB', '')}`);
      }
      return { trialId: r.trialId, hypervisor: r.hypervisor, configuredMiB: r.configuredMiB, allocatedOnHostMiB: r.allocatedOnHostMiB, usedInGuestMiB: r.usedInGuestMiB, requestedMiB: r.requestedMiB, dirtiedMiB: r.dirtiedMiB, breaks };
    });
}
