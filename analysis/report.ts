/**
 * `miglab report`: one or more campaigns' results stores → report.md, a self-contained
 * report.html, CSVs of trial rows and aggregates, and the figures as SVG. Reads the stores only.
 * A campaign still running is reported with what is recorded so far, and says so at the top.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as aq from 'arquero';
import type { Block, Doc, Section } from './document.js';
import { toHtml, toMarkdown } from './document.js';
import { baselineBars, rampLines, traceFigure, type Figure } from './figures.js';
import { flattenRow, TRIAL_COLUMNS, type FlatTrial } from './flatten.js';
import { readPolls } from './series.js';
import type { LoadedCampaign } from './load.js';
import { renderSvg } from './render.js';
import { cliffs, failures, integrity, MEASURE_KEYS, MEASURES, measuredCliffText, memoryCheck, outcomes, summarize, type CliffRow, type Measure, type SummaryRow } from './tables.js';
import { hasAbortedAttempt, pickTraceTrial, readTrace, type Trace } from './trace.js';
import { modelFit, type ModelFit } from './model-fit.js';
import { factorBlocks, factorEffects, factorFigures } from './factor-report.js';
import { planOf } from '../workflows/campaign-plan.js';
import { trendBlocks } from './trend-report.js';
import { appBlocks, appDowntimesFigure, appGroups, appLatencyFigure, cheaperMeasures, pickAppTrials, readAppSeries, type AppGroupRow, type AppSeries, type CheaperRow } from './app-report.js';

export interface ReportData {
  flat: FlatTrial[];
  summary: SummaryRow[];
  outcomes: ReturnType<typeof outcomes>;
  failures: ReturnType<typeof failures>;
  cliffs: CliffRow[];
  memory: ReturnType<typeof memoryCheck>;
  integrity: ReturnType<typeof integrity>;
  fit: ModelFit;
  /** service trials: the downtimes side by side per key set, and the cheaper measures against the clients' */
  app: AppGroupRow[];
  cheaper: CheaperRow[];
  /** a factorial campaign's effects (empty when no campaign varied a setting) */
  factors: ReturnType<typeof factorEffects>;
}

/**
 * Flat rows of every campaign; the hypervisor is the label a row is compared under, so two
 * campaigns on the same hypervisor are told apart by campaign name.
 */
export function flattenCampaigns(campaigns: readonly LoadedCampaign[]): FlatTrial[] {
  const labels = comparisonLabels(campaigns);
  return campaigns.flatMap((c, i) => {
    // the store lists rows by file name (16MiB before 4MiB): every table follows the campaign's order instead
    const scenarios = c.manifest.trials.map((t) => t.scenario);
    const order = (f: FlatTrial) => [scenarios.indexOf(f.scenario), f.workingSetMiB ?? -1, f.repetition];
    const byOrder = (a: FlatTrial, b: FlatTrial) => {
      const [x, y] = [order(a), order(b)];
      return x.reduce((d, v, k) => d || v - y[k]!, 0) || a.trialId.localeCompare(b.trialId);
    };
    return c.rows.map((r) => flattenRow(r, { ...c.manifest, hypervisor: labels[i]!, backend: c.manifest.hypervisor })).sort(byOrder);
  });
}

/** The hypervisor, then with the campaign's name, then with its directory: the first that is unique. */
export function comparisonLabels(campaigns: readonly LoadedCampaign[]): string[] {
  const tries = [
    (c: LoadedCampaign) => c.manifest.hypervisor,
    (c: LoadedCampaign) => `${c.manifest.hypervisor} (${c.manifest.campaign})`,
    (c: LoadedCampaign) => `${c.manifest.hypervisor} (${basename(c.dir)})`,
    (c: LoadedCampaign) => `${c.manifest.hypervisor} (${c.dir})`,
  ];
  for (const t of tries) {
    const labels = campaigns.map(t);
    if (new Set(labels).size === labels.length) return labels;
  }
  return campaigns.map((c, i) => `${c.manifest.hypervisor} #${i + 1}`);
}

/** Runs one named step of the analysis; the benchmark passes one that times each. */
export type StepRunner = <T>(name: string, step: () => T) => T;

export function analyze(flat: FlatTrial[], step: StepRunner = (_name, f) => f()): ReportData {
  return {
    flat,
    summary: step('summary', () => summarize(flat)),
    outcomes: step('outcomes', () => outcomes(flat)),
    failures: step('failures', () => failures(flat)),
    cliffs: step('cliffs', () => cliffs(flat)),
    memory: step('memory', () => memoryCheck(flat)),
    integrity: step('integrity', () => integrity(flat)),
    fit: step('model fit', () => modelFit(flat)),
    app: step('service downtimes', () => appGroups(flat)),
    cheaper: step('cheaper measures', () => cheaperMeasures(flat)),
    factors: step('factor effects', () => factorEffects(flat)),
  };
}

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const size = (ws: number | null) => (ws === null ? 'idle' : `${ws} MiB`);

function statCell(s: SummaryRow[Measure], digits: number): string {
  if (s.n === 0) return '–';
  // an interval cut at 0 is no longer symmetric: shown as its two ends
  const ci = s.ciLo === null || s.ciHi === null ? '' : s.ciCut ? ` [0–${fmt(s.ciHi, digits)}]` : ` ±${fmt((s.ciHi - s.ciLo) / 2, digits)}`;
  return `${fmt(s.mean, digits)}${ci} (${fmt(s.median, digits)})`;
}

/** The figures, in the paper's order, then the trace. */
export async function buildFigures(data: ReportData, trace: Trace | null, appSeries: readonly AppSeries[] = []): Promise<(Figure & { svg: string })[]> {
  const notConverged: { hypervisor: string; workingSetMiB: number; count: number; of: number }[] = [];
  for (const c of data.cliffs) for (const p of c.perSize) if (p.converged < p.informative) notConverged.push({ hypervisor: c.hypervisor, workingSetMiB: p.workingSetMiB, count: p.informative - p.converged, of: p.informative });
  const figs: Figure[] = [
    baselineBars(data.summary, 'mtMs', 3),
    baselineBars(data.summary, 'dtMs', 4),
    baselineBars(data.summary, 'tmtMs', 5),
    rampLines(data.summary, notConverged, data.cliffs, 'mtMs', 6),
    rampLines(data.summary, notConverged, data.cliffs, 'mdMiB', 7),
    rampLines(data.summary, notConverged, data.cliffs, 'dtMs', 8),
  ];
  if (trace) figs.push(traceFigure(trace));
  if (data.app.length) figs.push(appDowntimesFigure(data.app));
  appSeries.forEach((s, i) => figs.push(appLatencyFigure(s, i)));
  figs.push(...factorFigures(data.flat, 12));
  return Promise.all(figs.map(async (f) => ({ ...f, svg: await renderSvg(f.spec) })));
}

function integrityText(i: ReturnType<typeof integrity>): string {
  if (i.checked === 0) return 'Guest memory integrity: not checked (rows recorded before miglab checked it, or no workload).';
  if (i.lost.length === 0) return `Guest memory integrity: in all ${i.checked} checked trials the workload found every page as it left it after the move.`;
  const list = i.lost.slice(0, 10).map((l) => `${l.trialId} (${l.staleWrites})`).join(', ') + (i.lost.length > 10 ? ', …' : '');
  return `Guest memory integrity: ${i.lost.length} of ${i.checked} checked trials arrived with lost writes (stale pages the hypervisor did not resend): ${list}. Their timings describe a migration that did not move the guest correctly.`;
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);

/** The model's error table, its verdicts against the outcomes, and its cliff beside the others. */
function modelBlocks(data: ReportData): Block[] {
  const f = data.fit;
  if (f.predicted === 0) return [{ kind: 'text', text: 'No trial recorded a prediction (rows from before miglab 0.4, trials that did not look inside the guest, or Xen, whose xl has no bandwidth to assume).' }];
  const right = f.verdictsOf ? (f.verdictsRight / f.verdictsOf) * 100 : 0;
  const wrong = f.trials.filter((t) => t.predicted !== t.measured);
  const worst = f.trials.filter((t) => t.tmt !== null).sort((a, b) => Math.abs(b.tmt!) - Math.abs(a.tmt!)).slice(0, 5);
  return [
    {
      kind: 'text',
      text: `${f.predicted} trials predicted their migration before it started (workflows/precopy-model.ts, from the guest's memory in use, the idle guest's dirty rate and the workload's write rate measured in the trial; bandwidth: ${f.bandwidthSources.join(', ')}). Verdict (which attempt moves the VM, or offline): right for ${f.verdictsRight} of ${f.verdictsOf} (${right.toFixed(1)} %). Errors are |predicted − measured| / measured over the trials whose verdict was right; DT against the hypervisor's own figure (the model predicts the pause, not the network's re-learning after it).`,
    },
    {
      kind: 'table',
      headers: ['measure', 'trials', 'median |error|', '90th percentile |error|', 'median signed error'],
      align: ['l', 'r', 'r', 'r', 'r'],
      rows: f.errors.map((e) => [e.measure, String(e.n), pct(e.medianAbs), pct(e.p90Abs), pct(e.medianSigned)]),
    },
    {
      kind: 'table',
      headers: ['predicted', 'measured', 'trials'],
      align: ['l', 'l', 'r'],
      rows: f.confusion.map((c) => [c.predicted, c.measured, String(c.count)]),
    },
    {
      kind: 'table',
      headers: ['hypervisor', 'scenario', 'model cliff (MiB)', 'bandwidth × downtime limit (MiB)', 'measured (MiB)'],
      align: ['l', 'l', 'r', 'r', 'r'],
      // the scenarios with a cliff to find (a ramp), not the baseline
      rows: f.cliffs.flatMap((m) => {
        const c = data.cliffs.find((x) => x.hypervisor === m.hypervisor && x.scenario === m.scenario);
        return c ? [[m.hypervisor, m.scenario, fmt(m.modelMiB), fmt(c.predictedMiB), c.measuredMiB === null ? measuredCliffText(c) : String(c.measuredMiB)]] : [];
      }),
    },
    {
      kind: 'table',
      headers: ['trial', 'model', 'measured', 'TMT model / measured (ms)', 'DT model / hypervisor (ms)', 'MD model / measured (MiB)'],
      align: ['l', 'l', 'l', 'r', 'r', 'r'],
      rows: data.flat
        .filter((r) => r.predVerdict !== null)
        .slice(0, 60)
        .map((r) => [
          r.trialId,
          r.predVerdict === 'converged' ? `attempt ${r.predAttempt}` : r.predVerdict!,
          r.outcome === 'converged' ? `attempt ${r.movedAttempt}` : r.outcome,
          `${fmt(r.predTmtMs, 0)} / ${fmt(r.tmtMs, 0)}`,
          `${fmt(r.predDtMs, 0)} / ${fmt(r.dtQemuMs, 0)}`,
          `${fmt(r.predMdMiB)} / ${fmt(r.mdMiB)}`,
        ]),
    },
    ...(wrong.length ? [{ kind: 'text', text: `Wrong verdicts: ${wrong.slice(0, 10).map((t) => `${t.trialId} (model ${t.predicted}, measured ${t.measured})`).join(', ')}${wrong.length > 10 ? ', …' : ''}.` } satisfies Block] : []),
    ...(worst.length ? [{ kind: 'text', text: `Largest TMT errors: ${worst.map((t) => `${t.trialId} ${pct(t.tmt)}`).join(', ')}. The table above lists up to 60 trials; every trial's prediction and error is in model.csv (and pred* columns in trials.csv).` } satisfies Block] : []),
  ];
}

/** Where each campaign's results came from: miglab, the campaign file, the guest image, each host. */
function provenanceBlocks(campaigns: readonly LoadedCampaign[]): Block[] {
  return campaigns.flatMap((c): Block[] => {
    const p = c.manifest.provenance;
    if (!p) return [{ kind: 'text', text: `${c.manifest.campaign}: no provenance recorded (its manifest was written before miglab 0.3).` }];
    const digest = (d: { sha256: string } | null) => (d ? d.sha256.slice(0, 16) : 'not readable on the controller');
    return [
      {
        kind: 'text',
        text: `${c.manifest.campaign}: miglab ${p.miglab.version}${p.miglab.commit ? ` (commit ${p.miglab.commit.slice(0, 12)}${p.miglab.commit.endsWith('-dirty') ? ', with uncommitted changes' : ''})` : ''}, campaign file ${p.campaignFile.path} sha256 ${p.campaignFile.sha256.slice(0, 16)}…, guest kernel ${digest(p.guestImage.kernel)}, initrd ${digest(p.guestImage.initrd)}${p.guestImage.disk !== undefined ? `, disk image ${digest(p.guestImage.disk)}` : ''}, controller Node ${p.controller.node} on Linux ${p.controller.kernel}; the latest run started ${p.startedAt}${p.endedAt ? ` and ended ${p.endedAt}` : ' (its end is not recorded: still running, or stopped)'}. Each trial row also carries its own hosts' provenance (trials.csv: accelerator, guestCpu, hypervisorVersion, miglabVersion).`,
      },
      {
        kind: 'table',
        headers: ['host', 'hypervisor', 'version', 'accelerator', 'guest CPU', 'kernel', 'CPU'],
        align: ['l', 'l', 'l', 'l', 'l', 'l', 'l'],
        rows: p.hosts.map((h) => [h.host, h.hypervisor, h.hypervisorVersion ?? '?', h.accelerator, h.guestCpu, h.kernel ?? '?', h.cpuModel ?? '?']),
      },
    ];
  });
}

export function buildDoc(campaigns: readonly LoadedCampaign[], data: ReportData, figures: readonly (Figure & { svg: string })[]): Doc {
  const status: string[] = campaigns.map((c) => {
    const expected = c.manifest.trials.length;
    const state = c.missing.length === 0 ? 'complete' : `INCOMPLETE: ${c.missing.length} trial(s) not recorded yet (running or interrupted), e.g. ${c.missing.slice(0, 3).join(', ')}`;
    return `campaign ${c.manifest.campaign} (${c.manifest.hypervisor}), ${c.dir}: ${c.rows.length} of ${expected} trials recorded — ${state}`;
  });
  const sections: Section[] = [];
  sections.push({
    title: 'Campaigns',
    blocks: [
      { kind: 'list', items: status },
      {
        kind: 'text',
        text: 'TMT: total migration time; DT: downtime (the network probe\'s largest reply gap less its interval, else QEMU\'s figure); MT = TMT − DT; MD: migration data. Statistics: mean ±half-width of the 95 % Student-t confidence interval (median in brackets); no interval below n = 2.',
      },
    ],
  });

  sections.push({
    title: 'The cliff: where default precopy stops converging',
    blocks: [
      {
        kind: 'table',
        headers: ['hypervisor', 'scenario', 'bandwidth (MiB/s)', 'downtime limit (ms)', 'predicted (MiB)', 'measured (MiB)', 'bracket', 'converged / informative per size'],
        align: ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'l'],
        rows: data.cliffs.map((c) => [
          c.hypervisor,
          c.scenario,
          fmt(c.bandwidthMiBps),
          fmt(c.downtimeLimitMs, 0),
          fmt(c.predictedMiB),
          c.measuredMiB === null ? measuredCliffText(c) : String(c.measuredMiB),
          c.measuredMiB === null ? '–' : c.belowMiB === null ? `≤ ${c.measuredMiB} MiB (first size)` : `(${c.belowMiB}, ${c.measuredMiB}] MiB`,
          c.perSize.map((p) => `${p.workingSetMiB}: ${p.converged}/${p.informative}`).join(', '),
        ]),
      },
      {
        kind: 'text',
        text: 'Predicted: bandwidth × downtime limit of the first attempt: QEMU stops the VM once the remaining bytes fit into that product, so a working set re-dirtied faster than it is sent and larger than it should keep precopy from converging. Measured: the smallest working set at which most informative trials (first attempt converged or was aborted by a rule; errors do not count) did not converge.',
      },
    ],
  });

  sections.push({
    title: 'Outcomes',
    blocks: [
      {
        kind: 'table',
        headers: ['hypervisor', 'scenario', 'working set', 'trials', 'precopy', 'ladder steps', 'offline', 'failed', 'converged live'],
        align: ['l', 'l', 'r', 'r', 'r', 'l', 'r', 'r', 'r'],
        rows: data.outcomes.map((o) => [
          o.hypervisor,
          o.scenario,
          size(o.workingSetMiB),
          String(o.trials),
          String(o.precopy),
          Object.entries(o.ladder).map(([k, v]) => `${k}: ${v}`).join(', ') || '–',
          String(o.offline),
          String(o.failed),
          `${(o.convergenceRate * 100).toFixed(0)} %`,
        ]),
      },
      ...(data.failures.length
        ? [{ kind: 'table', headers: ['hypervisor', 'failure reason', 'count', 'trials'], align: ['l', 'l', 'r', 'l'], rows: data.failures.map((f) => [f.hypervisor, f.reason.slice(0, 200), String(f.count), f.trials.slice(0, 5).join(', ') + (f.trials.length > 5 ? ', …' : '')]) } satisfies Block]
        : [{ kind: 'text', text: 'No trial failed.' } satisfies Block]),
      { kind: 'text', text: integrityText(data.integrity) },
    ],
  });

  const trend = trendBlocks(data.flat);
  if (trend.length) sections.push({ title: 'How TMT, DT and MD move with the working set', blocks: trend });
  sections.push({ title: 'The model: predicted before each trial, then measured', blocks: modelBlocks(data) });
  if (data.app.length) sections.push({ title: "Downtime as a service's clients saw it", blocks: appBlocks(data.flat) });
  const factorial = factorBlocks(data.flat, campaigns.length === 1 ? planOf(campaigns[0]!.manifest.spec).order : null);
  if (factorial.length) sections.push({ title: 'Factors: what each setting did', blocks: factorial });

  const digits: Record<Measure, number> = { tmtMs: 0, mtMs: 0, dtMs: 1, dtQemuMs: 1, dtProbeMs: 1, dtGuestMs: 1, mdMiB: 1, throughputMiBps: 1, e2eMs: 0, e2eMiB: 1 };
  sections.push({
    title: 'Statistics per hypervisor, scenario, working set and mode',
    blocks: [
      {
        kind: 'table',
        headers: ['hypervisor', 'scenario', 'working set', 'mode', 'n', ...MEASURE_KEYS.map((m) => MEASURES[m])],
        align: ['l', 'l', 'r', 'l', 'r', ...MEASURE_KEYS.map(() => 'r' as const)],
        rows: data.summary.map((s) => [s.hypervisor, s.scenario, size(s.workingSetMiB), s.mode, String(s.trials), ...MEASURE_KEYS.map((m) => statCell(s[m], digits[m]))]),
      },
      {
        kind: 'text',
        text:
          'Intervals are 95 % Student-t intervals of the mean. Every measure here is a time, a size or a rate and cannot be negative: where the interval reached below 0 it is cut there and shown as [0–upper] — with a few repetitions that says the spread is large, not that the true mean may be 0. ' +
          'TMT, MT, DT and MD are the final attempt\'s, the one that moved the VM, as the paper reports them, and Figures 3–8 plot those. The "all attempts" columns are the cost of the whole move: from the first migrate command until the VM ran on the destination, and the bytes every attempt sent, aborted ones included (blank for rows recorded before miglab 0.3, which kept no per-attempt cost). ' +
          'DT hypervisor-reported is QEMU\'s own downtime where miglab drives QEMU, and libvirt\'s `downtime` (guest paused on the source to resumed on the destination) where it drives libvirt; libvirt\'s `downtime_net` (the same less the hand-over between the two libvirtds) is in trials.csv as dtLibvirtNetMs.' +
          (data.flat.some((r) => r.dtReportedBy === 'none')
            ? ' Xen\'s xl reports no downtime and no statistics: its rows are measured from outside, TMT by dom0\'s clock around `xl` (tmtSource dom0-clock), MD by the source interface\'s byte counter or the save image\'s size (mdSource), DT by the probe alone.'
            : ''),
      },
    ],
  });

  const mem = data.memory;
  sections.push({
    title: 'Memory categories (MiB)',
    blocks: [
      {
        kind: 'text',
        text: `The paper orders them configured ≥ allocated on host ≥ used in guest ≥ requested by the workload ≥ dirtied. ${mem.breaking} of ${mem.checked} trials with measured categories break that order (allocated is the QEMU process's resident size and includes QEMU's own overhead, so it can exceed the configured size).${mem.rows.length < mem.checked ? ` Listed here: up to 200 of the rows that break it; memory.csv has ${mem.rows.length === mem.breaking ? 'all of them' : `the first ${mem.rows.length}`}; every trial's categories are in trials.csv.` : ''}`,
      },
      {
        kind: 'table',
        headers: ['trial', 'hypervisor', 'configured', 'allocated', 'used', 'requested', 'dirtied', 'breaks the order'],
        align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
        rows: mem.rows.slice(0, 200).map((m) => [m.trialId, m.hypervisor, fmt(m.configuredMiB, 0), fmt(m.allocatedOnHostMiB), fmt(m.usedInGuestMiB), fmt(m.requestedMiB, 0), fmt(m.dirtiedMiB), m.breaks.join('; ') || '–']),
      },
    ],
  });

  sections.push({ title: 'Provenance', blocks: provenanceBlocks(campaigns) });
  sections.push({ title: 'Figures', blocks: figures.map((f) => ({ kind: 'figure', id: f.id, title: f.title, caption: f.caption, svg: f.svg })) });
  return { title: `miglab report: ${campaigns.map((c) => c.manifest.campaign).join(' vs ')}`, sections };
}

/** The CSV exports: every trial row and every aggregate table. */
const STAT_KEYS = ['n', 'mean', 'median', 'sd', 'ciLo', 'ciHi'] as const;
/** summary.csv's columns: the group, then one per measure and statistic */
const SUMMARY_COLUMNS = ['hypervisor', 'scenario', 'workingSetMiB', 'mode', 'trials', ...MEASURE_KEYS.flatMap((m) => STAT_KEYS.map((k) => `${m}_${k}`))];

/** The summary as flat records: one column per measure and statistic. */
function summaryRecords(data: ReportData): Record<string, unknown>[] {
  return data.summary.map((s) => {
    const o: Record<string, unknown> = { hypervisor: s.hypervisor, scenario: s.scenario, workingSetMiB: s.workingSetMiB, mode: s.mode, trials: s.trials };
    for (const m of MEASURE_KEYS) for (const k of STAT_KEYS) o[`${m}_${k}`] = s[m][k];
    return o;
  });
}

export function buildCsv(data: ReportData): Record<string, string> {
  // an empty table still has its header row: pandas and R read it as an empty frame, not an error
  const csv = (rows: object[], header: readonly string[]) => (rows.length ? aq.from(rows as Record<string, unknown>[]).toCSV() : header.join(',')) + '\n';
  return {
    'trials.csv': csv(data.flat, TRIAL_COLUMNS),
    'summary.csv': csv(summaryRecords(data), SUMMARY_COLUMNS),
    'outcomes.csv': csv(data.outcomes.map((o) => ({ ...o, ladder: Object.entries(o.ladder).map(([k, v]) => `${k}=${v}`).join(';') })), ['hypervisor', 'scenario', 'workingSetMiB', 'trials', 'precopy', 'ladder', 'offline', 'failed', 'convergenceRate']),
    'failures.csv': csv(data.failures.map((f) => ({ ...f, trials: f.trials.join(';') })), ['hypervisor', 'reason', 'count', 'trials']),
    'cliff.csv': csv(data.cliffs.map((c) => ({ ...c, perSize: c.perSize.map((p) => `${p.workingSetMiB}:${p.converged}/${p.informative}`).join(';') })), ['hypervisor', 'scenario', 'predictedMiB', 'bandwidthMiBps', 'downtimeLimitMs', 'measuredMiB', 'belowMiB', 'largestTriedMiB', 'perSize']),
    'model.csv': csv(data.fit.trials, ['trialId', 'hypervisor', 'workingSetMiB', 'predicted', 'measured', 'tmt', 'md', 'dt']),
    'factors.csv': csv(data.factors.effects, ['factor', 'level', 'baseline', 'measure', 'pairs', 'meanDiff', 'ciLo', 'ciHi', 'relative']),
    'app.csv': csv(data.app, ['hypervisor', 'scenario', 'service', 'keySetMiB', 'mode', 'n', 'appMs', 'hypervisorMs', 'ping10Ms', 'ping1sMs', 'guestClockMs', 'setupMs', 'failed', 'p99BeforeMs', 'p99PrecopyMs', 'p99AfterMs', 'dipS', 'gapPhases']),
    'memory.csv': csv(data.memory.rows.map((m) => ({ ...m, breaks: m.breaks.join(';') })), ['trialId', 'hypervisor', 'configuredMiB', 'allocatedOnHostMiB', 'usedInGuestMiB', 'requestedMiB', 'dirtiedMiB', 'breaks']),
  };
}

export interface WrittenReport {
  outDir: string;
  files: string[];
  data: ReportData;
  figures: string[];
}

export async function writeReport(campaigns: readonly LoadedCampaign[], outDir: string): Promise<WrittenReport> {
  const data = analyze(flattenCampaigns(campaigns));
  // The trace comes from the campaign whose pick tells most (an aborted attempt first).
  let trace: Trace | null = null;
  const picks = campaigns.flatMap((c) => {
    const row = pickTraceTrial(c.rows);
    return row ? [{ dir: c.dir, row }] : [];
  });
  picks.sort((a, b) => Number(hasAbortedAttempt(b.row)) - Number(hasAbortedAttempt(a.row)));
  for (const p of picks) if ((trace = await readTrace(p.dir, p.row))) break;
  const appSeries = (await Promise.all(campaigns.flatMap((c) => pickAppTrials(c.rows).map((r) => readAppSeries(c.dir, r))))).filter((x): x is AppSeries => x !== null);
  const figures = await buildFigures(data, trace, appSeries);
  const doc = buildDoc(campaigns, data, figures);
  await mkdir(join(outDir, 'figures'), { recursive: true });
  const files: string[] = [];
  const put = async (name: string, content: string) => {
    await writeFile(join(outDir, name), content);
    files.push(name);
  };
  for (const f of figures) await put(`figures/${f.id}.svg`, f.svg);
  for (const [name, content] of Object.entries(buildCsv(data))) await put(name, content);
  // the same rows, the aggregates and every poll as Arrow IPC files (Feather v2): one call in
  // pandas (read_feather) or R (arrow::read_feather), types kept
  const polls = (await Promise.all(campaigns.map((c) => readPolls(c.dir, c.rows.map((r) => r.trialId))))).flat();
  for (const [name, rows] of Object.entries({ 'trials.arrow': data.flat, 'summary.arrow': summaryRecords(data), 'polls.arrow': polls })) {
    if (rows.length === 0) continue; // an Arrow file needs a row to type its columns
    await writeFile(join(outDir, name), aq.toArrowIPC(aq.from(rows as Record<string, unknown>[]), { format: 'file' }));
    files.push(name);
  }
  await put('report.md', toMarkdown(doc, 'figures'));
  await put('report.html', toHtml(doc));
  return { outDir, files, data, figures: figures.map((f) => f.id) };
}
