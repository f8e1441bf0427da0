/**
 * The report's figures as vega-lite specs (plain data): the paper's Fig. 3–5 (baseline MT, DT, TMT
 * per hypervisor, bars with 95 % CI whiskers), Fig. 6–8 (working set vs MT, MD, DT, a line per
 * hypervisor, non-converged points marked, the predicted cliff as a rule), and a migration trace
 * the paper lacks. Only aggregates go in, so a million trials draw as fast as ten.
 */
import type { CliffRow, Measure, SummaryRow } from './tables.js';
import { MEASURES } from './tables.js';
import type { Trace } from './trace.js';

export type VlSpec = Record<string, unknown>;

export interface Figure {
  id: string;
  title: string;
  caption: string;
  spec: VlSpec;
}

const WIDTH = 420;
const HEIGHT = 260;

const point = (s: SummaryRow, m: Measure) => ({
  hypervisor: s.hypervisor,
  scenario: s.scenario,
  workingSetMiB: s.workingSetMiB,
  mode: s.mode,
  n: s[m].n,
  mean: s[m].mean,
  median: s[m].median,
  ciLo: s[m].ciLo,
  ciHi: s[m].ciHi,
});

/** Fig. 3–5: one bar per hypervisor (baseline trials, live), whiskers at the 95 % CI. */
export function baselineBars(summary: readonly SummaryRow[], m: Measure, fig: number): Figure {
  const values = summary.filter((s) => s.workingSetMiB === null && s.mode === 'live' && s[m].n > 0).map((s) => point(s, m));
  const y = { field: 'mean', type: 'quantitative', title: `mean ${MEASURES[m]}` };
  return {
    id: `fig${fig}-${m}`,
    title: `Fig. ${fig}: ${MEASURES[m]} of the baseline per hypervisor`,
    caption: `Bars: mean over baseline trials that migrated live; whiskers: 95 % t confidence interval (absent where n < 2). Points: ${values.length}.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: Math.max(120, 90 * values.length),
      height: HEIGHT,
      data: { values },
      encoding: { x: { field: 'hypervisor', type: 'nominal', title: null, axis: { labelAngle: 0 } } },
      layer: [
        { mark: { type: 'bar', width: 40 }, encoding: { y, color: { field: 'hypervisor', type: 'nominal', legend: null } } },
        { transform: [{ filter: 'datum.ciLo != null' }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'ciLo', type: 'quantitative' }, y2: { field: 'ciHi' } } },
        { transform: [{ calculate: "'n=' + datum.n", as: 'nLabel' }], mark: { type: 'text', dy: -8 }, encoding: { y, text: { field: 'nLabel' } } },
      ],
    },
  };
}

/**
 * Fig. 6–8: the measure against the working set, one line per hypervisor through the live means;
 * offline fallbacks as crosses; sizes where default precopy did not converge ringed in red.
 */
export function rampLines(summary: readonly SummaryRow[], notConverged: readonly { hypervisor: string; workingSetMiB: number; count: number; of: number }[], cliff: readonly CliffRow[], m: Measure, fig: number): Figure {
  const ramp = summary.filter((s) => s.workingSetMiB !== null && s[m].n > 0).map((s) => point(s, m));
  const live = ramp.filter((p) => p.mode === 'live');
  const offline = ramp.filter((p) => p.mode === 'offline');
  const rings = notConverged.flatMap((nc) => {
    const at = live.find((p) => p.hypervisor === nc.hypervisor && p.workingSetMiB === nc.workingSetMiB) ?? offline.find((p) => p.hypervisor === nc.hypervisor && p.workingSetMiB === nc.workingSetMiB);
    return at ? [{ ...at, label: `${nc.count}/${nc.of} did not converge with default precopy` }] : [];
  });
  const rules = cliff.filter((c) => c.predictedMiB !== null).map((c) => ({ hypervisor: c.hypervisor, predictedMiB: c.predictedMiB, label: `predicted cliff ${c.predictedMiB!.toFixed(1)} MiB` }));
  const x = { field: 'workingSetMiB', type: 'quantitative', title: 'working set (MiB)' };
  const y = { field: 'mean', type: 'quantitative', title: `mean ${MEASURES[m]}` };
  const color = { field: 'hypervisor', type: 'nominal', title: 'hypervisor' };
  return {
    id: `fig${fig}-${m}`,
    title: `Fig. ${fig}: working set vs ${MEASURES[m]}`,
    caption:
      `Lines: mean of live migrations per working set (whiskers: 95 % CI); crosses: offline fallbacks; red rings: sizes where default precopy did not converge in some trial; ` +
      `dashed rule: predicted cliff (bandwidth × downtime limit). Live points: ${live.length}, offline: ${offline.length}, ringed: ${rings.length}.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH,
      height: HEIGHT,
      layer: [
        { data: { values: live }, mark: { type: 'line', point: true }, encoding: { x, y, color } },
        { data: { values: live }, transform: [{ filter: 'datum.ciLo != null' }], mark: 'rule', encoding: { x, y: { field: 'ciLo', type: 'quantitative' }, y2: { field: 'ciHi' }, color } },
        { data: { values: offline }, mark: { type: 'point', shape: 'cross', filled: true, size: 90 }, encoding: { x, y, color } },
        { data: { values: rings }, mark: { type: 'point', shape: 'circle', size: 260, stroke: '#d62728', strokeWidth: 2, filled: false }, encoding: { x, y, tooltip: { field: 'label' } } },
        { data: { values: rules }, mark: { type: 'rule', strokeDash: [6, 4], color: '#555' }, encoding: { x: { field: 'predictedMiB', type: 'quantitative' } } },
        { data: { values: rules }, mark: { type: 'text', align: 'right', dx: -4, dy: -4, color: '#555' }, encoding: { x: { field: 'predictedMiB', type: 'quantitative' }, y: { value: 10 }, text: { field: 'label' } } },
      ],
    },
  };
}

/** A trial's remaining bytes and dirty rate over time, iterations and the abort / fallback marked. */
export function traceFigure({ trialId, points, events, predicted }: Trace): Figure {
  const x = { field: 'timeS', type: 'quantitative', title: 'time since the first attempt started (s)' };
  return {
    id: 'fig9-trace',
    title: `Migration trace of ${trialId}`,
    caption: `Every query-migrate poll of every attempt (${points.length} polls): remaining MiB (solid) and the dirty rate QEMU reports (dashed), dotted rules where a new iteration began, red rules where an attempt was aborted, the fallback's start labelled.${predicted.length ? ` Black diamonds: what the model, before the trial migrated, expected each pass to start with (and leave after the last), from the attempt's start.` : ''}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH + 160,
      height: HEIGHT,
      resolve: { scale: { y: 'independent' } },
      layer: [
        { data: { values: events.filter((e) => e.kind === 'iteration') }, mark: { type: 'rule', color: '#999', strokeDash: [2, 2] }, encoding: { x } },
        {
          // the observed remaining bytes and the model's, on one axis
          layer: [
            { data: { values: points }, mark: { type: 'line' }, encoding: { x, y: { field: 'remainingMiB', type: 'quantitative', title: 'remaining (MiB)' }, color: { field: 'attempt', type: 'nominal', title: 'attempt' } } },
            { data: { values: predicted }, mark: { type: 'point', shape: 'diamond', filled: true, color: 'black', size: 40 }, encoding: { x, y: { field: 'predictedMiB', type: 'quantitative' } } },
          ],
        },
        {
          data: { values: points },
          mark: { type: 'line', strokeDash: [4, 3] },
          encoding: { x, y: { field: 'dirtyMiBps', type: 'quantitative', title: 'dirty rate (MiB/s)', axis: { orient: 'right' } }, color: { field: 'attempt', type: 'nominal' } },
        },
        { data: { values: events.filter((e) => e.kind !== 'iteration') }, mark: { type: 'rule', color: '#d62728', strokeWidth: 2 }, encoding: { x } },
        { data: { values: events.filter((e) => e.kind !== 'iteration') }, mark: { type: 'text', angle: 270, align: 'right', dx: -4, dy: -4, color: '#d62728' }, encoding: { x, y: { value: 4 }, text: { field: 'label' } } },
      ],
    },
  };
}
