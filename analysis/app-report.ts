/**
 * The report's service section (issue 17): what a service's clients saw beside the three cheaper
 * downtime figures — the hypervisor's, the 10 ms ping probe's, the same probe read as a 1 s ping
 * would have — and the guest clock's lag; how far each cheaper figure under- or over-states the
 * clients'; and where in the move the clients' longest gap fell. Reads flat rows, and one trial's
 * raw request series per service for the latency figure.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block } from './document.js';
import type { Figure } from './figures.js';
import type { FlatTrial } from './flatten.js';
import type { AppRequest, MigrationMarks } from './app-latency.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

/** The cheaper downtime figures, each against the clients' (appDowntimeMs). */
export const CHEAPER = [
  { key: 'dtQemuMs', label: "the hypervisor's own figure" },
  { key: 'dtProbeMs', label: 'ping every 10 ms' },
  { key: 'dtProbe1sMs', label: 'ping every 1 s (the 10 ms probe thinned, mean over its phases)' },
  { key: 'dtGuestMs', label: "the guest clock's lag" },
] as const satisfies readonly { key: keyof FlatTrial; label: string }[];

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const nums = (rows: readonly FlatTrial[], k: keyof FlatTrial) => rows.map((r) => r[k]).filter((v): v is number => typeof v === 'number');

/** Service trials that moved (the clients' downtime is about a move). */
export const movedServiceRows = (flat: readonly FlatTrial[]) => flat.filter((r) => r.appService !== null && r.appDowntimeMs !== null && r.outcome !== 'failed');

export interface AppGroupRow {
  hypervisor: string;
  scenario: string;
  service: string;
  keySetMiB: number;
  mode: string;
  n: number;
  /** means over the group's trials (ms) */
  appMs: number | null;
  hypervisorMs: number | null;
  ping10Ms: number | null;
  ping1sMs: number | null;
  guestClockMs: number | null;
  /** the hypervisor's own setup time (QEMU's setup-time) */
  setupMs: number | null;
  failed: number;
  p99BeforeMs: number | null;
  p99PrecopyMs: number | null;
  p99AfterMs: number | null;
  dipS: number | null;
  /** where the clients' longest gap began, e.g. "precopy 2, switchover 1" */
  gapPhases: string;
}

/** The four downtimes (and the clients' latency) per hypervisor, service scenario, key set and mode. */
export function appGroups(flat: readonly FlatTrial[]): AppGroupRow[] {
  const groups = new Map<string, FlatTrial[]>();
  for (const r of movedServiceRows(flat)) {
    const k = JSON.stringify([r.hypervisor, r.scenario, r.workingSetMiB, r.mode]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const phases = new Map<string, number>();
    for (const r of rs) if (r.appGapPhase) phases.set(r.appGapPhase, (phases.get(r.appGapPhase) ?? 0) + 1);
    return {
      hypervisor: rs[0]!.hypervisor,
      scenario: rs[0]!.scenario,
      service: rs[0]!.appService!,
      keySetMiB: rs[0]!.workingSetMiB ?? 0,
      mode: rs[0]!.mode,
      n: rs.length,
      appMs: mean(nums(rs, 'appDowntimeMs')),
      hypervisorMs: mean(nums(rs, 'dtQemuMs')),
      ping10Ms: mean(nums(rs, 'dtProbeMs')),
      ping1sMs: mean(nums(rs, 'dtProbe1sMs')),
      guestClockMs: mean(nums(rs, 'dtGuestMs')),
      setupMs: mean(nums(rs, 'setupMs')),
      failed: nums(rs, 'appFailed').reduce((a, b) => a + b, 0),
      p99BeforeMs: mean(nums(rs, 'appP99BeforeMs')),
      p99PrecopyMs: mean(nums(rs, 'appP99PrecopyMs')),
      p99AfterMs: mean(nums(rs, 'appP99AfterMs')),
      dipS: mean(nums(rs, 'appDipS')),
      gapPhases: [...phases].map(([p, c]) => `${p} ${c}`).join(', ') || '–',
    };
  });
}

export interface CheaperRow {
  measure: string;
  /** trials with both figures */
  n: number;
  /** figures below the clients' by more than `toleranceMs`, above it by more, within it */
  under: number;
  over: number;
  close: number;
  /** median of (figure − clients'), ms, and of figure / clients' */
  medianDiffMs: number | null;
  medianRatio: number | null;
}

/**
 * How far each cheaper figure under- or over-states what the clients saw, over the service trials
 * that moved live (an offline move's hypervisor figure is not its pause: the VM was stopped before
 * the hypervisor's own clock started).
 */
export function cheaperMeasures(flat: readonly FlatTrial[], toleranceMs = 20): CheaperRow[] {
  const rows = movedServiceRows(flat).filter((r) => r.mode === 'live');
  return CHEAPER.map(({ key, label }) => {
    const pairs = rows.flatMap((r) => (typeof r[key] === 'number' ? [{ m: r[key] as number, app: r.appDowntimeMs! }] : []));
    return {
      measure: label,
      n: pairs.length,
      under: pairs.filter((p) => p.m < p.app - toleranceMs).length,
      over: pairs.filter((p) => p.m > p.app + toleranceMs).length,
      close: pairs.filter((p) => Math.abs(p.m - p.app) <= toleranceMs).length,
      medianDiffMs: median(pairs.map((p) => p.m - p.app)),
      medianRatio: median(pairs.filter((p) => p.app > 0).map((p) => p.m / p.app)),
    };
  });
}

/** One trial's requests binned for plotting: per bin of due time, the median and the largest latency, and the failed requests. */
export interface AppSeries {
  trialId: string;
  service: string;
  /** seconds from the migration's start */
  marks: { pausedS: number; resumedS: number };
  bins: { timeS: number; p50Ms: number | null; maxMs: number | null; failed: number }[];
}

/** The requests of an app-requests.csv (activities/service-activities.ts writes it), or null when it is not one. */
export function parseRequestsCsv(text: string): AppRequest[] | null {
  const lines = text.split('\n');
  const t0 = Number(/^# t0=(\S+)/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isFinite(t0) || lines[1] !== 'op,dueMs,sentMs,doneMs,ok') return null;
  return lines.slice(2).filter((l) => l).map((line) => {
    const [op, due, sent, done, ok] = line.split(',');
    return { dueAt: t0 + Number(due), sentAt: t0 + Number(sent), doneAt: done ? t0 + Number(done) : null, ok: ok === '1', ...(op === 'set' ? { op: 'set' as const } : {}) };
  });
}

/** Reads a trial's app-requests.csv (null when it has none) and bins it by due time. */
export async function readAppSeries(resultsDir: string, row: TrialRow, binMs = 20): Promise<AppSeries | null> {
  const marks: MigrationMarks | null | undefined = row.app?.marks;
  if (!row.app || !marks) return null;
  let text: string;
  try {
    text = await readFile(join(new ResultsStore(resultsDir).trialRawDir(row.trialId), 'app-requests.csv'), 'utf8');
  } catch {
    return null;
  }
  const requests = parseRequestsCsv(text);
  if (!requests) return null;
  const byBin = new Map<number, { lat: number[]; failed: number }>();
  for (const r of requests) {
    const b = Math.floor((r.dueAt - marks.startedAt) / binMs);
    const bin = byBin.get(b) ?? { lat: [], failed: 0 };
    if (r.ok && r.doneAt !== null) bin.lat.push(r.doneAt - r.dueAt);
    else bin.failed++;
    byBin.set(b, bin);
  }
  // from 2 s before precopy to 3 s after the resume: the move, not the whole load
  const [from, to] = [-2000, marks.resumedAt - marks.startedAt + 3000];
  const bins = [...byBin].filter(([b]) => b * binMs >= from && b * binMs <= to).sort((a, b) => a[0] - b[0]).map(([b, v]) => ({ timeS: (b * binMs) / 1000, p50Ms: median(v.lat), maxMs: v.lat.length ? Math.max(...v.lat) : null, failed: v.failed }));
  return { trialId: row.trialId, service: row.app.service, marks: { pausedS: (marks.pausedAt - marks.startedAt) / 1000, resumedS: (marks.resumedAt - marks.startedAt) / 1000 }, bins };
}

/** Per service scenario, the trial whose series the figure shows: the largest key set that moved live, else the largest that moved. */
export function pickAppTrials(rows: readonly TrialRow[]): TrialRow[] {
  const moved = rows.filter((r) => r.app?.marks && r.outcome.kind !== 'failed');
  const byScenario = new Map<string, TrialRow>();
  const rank = (r: TrialRow) => [r.outcome.kind === 'converged' ? 1 : 0, r.workingSetMiB ?? 0];
  for (const r of moved) {
    const scenario = r.trialId.split('/')[1] ?? '';
    const best = byScenario.get(scenario);
    const [a, b] = [rank(r), best ? rank(best) : [-1, -1]];
    if (!best || a[0]! > b[0]! || (a[0] === b[0] && a[1]! > b[1]!)) byScenario.set(scenario, r);
  }
  return [...byScenario.values()];
}

const MEASURE_NAMES: Record<string, string> = { appMs: 'clients', hypervisorMs: 'hypervisor', ping10Ms: 'ping 10 ms', ping1sMs: 'ping 1 s', guestClockMs: 'guest clock lag' };

/** The four downtimes (and the clients') side by side per key set, a panel per hypervisor and service scenario. */
export function appDowntimesFigure(groups: readonly AppGroupRow[]): Figure {
  const values = groups.filter((g) => g.mode === 'live').flatMap((g) =>
    Object.entries(MEASURE_NAMES).flatMap(([k, label]) => {
      const v = g[k as keyof AppGroupRow];
      return typeof v === 'number' ? [{ panel: `${g.hypervisor}: ${g.scenario}`, keySet: `${g.keySetMiB} MiB`, keySetMiB: g.keySetMiB, measure: label, ms: Math.max(0, v) }] : [];
    }),
  );
  return {
    id: 'fig10-app-downtimes',
    title: 'Fig. 10: downtime four ways, and as the service\'s clients saw it, per key set',
    caption: `Means over the service trials that moved live, per key set: the clients' longest gap between successful replies, the hypervisor's own figure, the 10 ms ping probe's, the same probe read as a 1 s ping would have (mean over its phases), and the guest clock's lag (negative lags drawn as 0). Bars: ${values.length}.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values },
      facet: { field: 'panel', type: 'nominal', title: null },
      columns: 2,
      spec: {
        width: 300,
        height: 200,
        mark: 'bar',
        encoding: {
          x: { field: 'keySet', type: 'ordinal', title: 'key set', sort: { field: 'keySetMiB' }, axis: { labelAngle: 0 } },
          xOffset: { field: 'measure', type: 'nominal', sort: Object.values(MEASURE_NAMES) },
          y: { field: 'ms', type: 'quantitative', title: 'downtime (ms)' },
          color: { field: 'measure', type: 'nominal', title: 'measured by', sort: Object.values(MEASURE_NAMES) },
        },
      },
    },
  };
}

/** A service's request latency over time across the move: median and largest per bin, failures, the pause and resume marked. */
export function appLatencyFigure(series: AppSeries, index: number): Figure {
  const x = { field: 'timeS', type: 'quantitative', title: "time since the migration started (s)" };
  const lines = series.bins.flatMap((b) => [
    ...(b.p50Ms !== null ? [{ timeS: b.timeS, ms: Math.max(0.1, b.p50Ms), what: 'median' }] : []),
    ...(b.maxMs !== null ? [{ timeS: b.timeS, ms: Math.max(0.1, b.maxMs), what: 'largest' }] : []),
  ]);
  const failed = series.bins.filter((b) => b.failed > 0).map((b) => ({ timeS: b.timeS, failed: b.failed }));
  const marks = [
    { timeS: 0, label: 'precopy starts' },
    { timeS: series.marks.pausedS, label: 'paused' },
    { timeS: series.marks.resumedS, label: 'resumed' },
  ];
  const binMs = series.bins.length > 1 ? Math.round((series.bins[1]!.timeS - series.bins[0]!.timeS) * 1000) : 0;
  return {
    id: `fig11-app-latency-${index}`,
    title: `Fig. 11${String.fromCharCode(97 + index)}: ${series.service} request latency across the move of ${series.trialId}`,
    caption: `Every request the open-loop client sent from 2 s before precopy to 3 s after the resume, binned by when it was due (${binMs} ms bins): the median and the largest latency from its due time (log scale), red ticks where requests failed or timed out; rules where precopy started, the VM paused and resumed (from the hypervisor's figures).`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 560,
      height: 240,
      layer: [
        { data: { values: lines }, mark: { type: 'line', strokeWidth: 1 }, encoding: { x, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms)' }, color: { field: 'what', type: 'nominal', title: null } } },
        { data: { values: failed }, mark: { type: 'tick', color: '#d62728', orient: 'vertical' }, encoding: { x, y: { value: 6 } } },
        { data: { values: marks }, mark: { type: 'rule', color: '#555', strokeDash: [4, 3] }, encoding: { x } },
        { data: { values: marks }, mark: { type: 'text', angle: 270, align: 'right', dx: -4, dy: 8, color: '#555' }, encoding: { x, y: { value: 4 }, text: { field: 'label' } } },
      ],
    },
  };
}

const f0 = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(0));
const f2 = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(2));

/** The relation between the downtimes, stated from the data (counts and medians, not assumed). */
export function relationText(flat: readonly FlatTrial[], cheaper: readonly CheaperRow[]): string {
  const rows = movedServiceRows(flat);
  const live = rows.filter((r) => r.mode === 'live');
  const offline = rows.filter((r) => r.mode === 'offline');
  const phases = new Map<string, number>();
  for (const r of live) if (r.appGapPhase) phases.set(r.appGapPhase, (phases.get(r.appGapPhase) ?? 0) + 1);
  const parts = cheaper.filter((c) => c.n > 0).map((c) => `${c.measure}: below the clients' by more than 20 ms in ${c.under} of ${c.n} trials, above by more in ${c.over}, within 20 ms in ${c.close} (median difference ${f0(c.medianDiffMs)} ms, median ratio ${f2(c.medianRatio)})`);
  const where = [...phases].map(([p, c]) => `${p} in ${c}`).join(', ');
  // a gap at the very start of the move, beside the hypervisor's own setup time
  const early = live.filter((r) => r.appGapAfterStartMs !== null && Math.abs(r.appGapAfterStartMs) <= 1000 && r.appGapPhase !== 'switchover');
  const earlyText = early.length
    ? ` In ${early.length} of them it began within 1 s of the migration's own start: there the gap's median is ${f0(median(nums(early, 'appDowntimeMs')))} ms and the hypervisor's setup time's (QEMU's setup-time) ${f0(median(nums(early, 'setupMs')))} ms.`
    : '';
  const liveText = live.length
    ? `${live.length} service trials moved live. Against the clients' downtime — ${parts.join('; ')}. The clients' longest gap began ${where || 'nowhere recorded'} (preparing: after the migrate command, before the hypervisor's migration started; precopy: from then until 100 ms before the pause; the switchover: within 100 ms of the pause or the resume).${earlyText}`
    : 'No service trial moved live.';
  const longer = offline.flatMap((r) => (r.dtProbeMs !== null ? [r.appDowntimeMs! - r.dtProbeMs] : []));
  const offlineText = offline.length
    ? ` ${offline.length} moved offline (paused for the whole copy): the clients' outage exceeded the 10 ms probe's by a median ${f0(median(longer))} ms (from ${f0(longer.length ? Math.min(...longer) : null)} to ${f0(longer.length ? Math.max(...longer) : null)} ms) — their connection is one TCP stream, whose retransmissions back off while nothing answers, where each ping is a new packet.`
    : '';
  return liveText + offlineText;
}

/** The report section's blocks. */
export function appBlocks(flat: readonly FlatTrial[]): Block[] {
  const groups = appGroups(flat);
  if (groups.length === 0) return [{ kind: 'text', text: 'No service trial moved (no `kind: service` scenario, or none of its trials moved).' }];
  const cheaper = cheaperMeasures(flat);
  return [
    { kind: 'text', text: relationText(flat, cheaper) },
    {
      kind: 'table',
      headers: ['hypervisor', 'scenario', 'key set', 'mode', 'n', "clients' downtime (ms)", 'hypervisor (ms)', 'ping 10 ms (ms)', 'ping 1 s (ms)', 'guest clock lag (ms)', 'setup (ms)', 'failed requests', 'p99 before / precopy / after (ms)', 'dip (s)', 'longest gap began'],
      align: ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      rows: groups.map((g) => [g.hypervisor, g.scenario, `${g.keySetMiB} MiB`, g.mode, String(g.n), f0(g.appMs), f0(g.hypervisorMs), f0(g.ping10Ms), f0(g.ping1sMs), f0(g.guestClockMs), f0(g.setupMs), String(g.failed), `${f0(g.p99BeforeMs)} / ${f0(g.p99PrecopyMs)} / ${f0(g.p99AfterMs)}`, f2(g.dipS), g.gapPhases]),
    },
    {
      kind: 'table',
      headers: ['cheaper measure', 'trials', 'under-states (by > 20 ms)', 'over-states', 'within 20 ms', 'median difference (ms)', 'median ratio'],
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      rows: cheaper.map((c) => [c.measure, String(c.n), String(c.under), String(c.over), String(c.close), f0(c.medianDiffMs), f2(c.medianRatio)]),
    },
    {
      kind: 'text',
      text: "The clients' downtime is the longest time between two successful replies of the open-loop load (requests sent on schedule whatever the replies did; latency counted from each request's due time, so a stalled service is not hidden by a client that waited). Every request is in raw/<trial>/trial/app-requests.csv; trials.csv has the app* columns (phase percentiles, failed and timed-out requests, the throughput dip, how far the client fell behind its schedule) and dtProbe1sMs with its range over the phases.",
    },
  ];
}
