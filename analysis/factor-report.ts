/**
 * A factorial campaign's effects: for each varied setting, each level against the first, as the
 * mean paired difference of TMT, DT and MD (trials alike in everything else — scenario, working
 * set, the other factors' levels and the repetition — moved live at both levels) with its 95 % t
 * interval, and how often each level converged live. Figures: each measure against a factor's
 * levels, a line per level of another factor.
 */
import type { Block } from './document.js';
import type { Figure } from './figures.js';
import type { FlatTrial } from './flatten.js';
import { meanCi } from './stats.js';

/** A setting a campaign can vary, as trials.csv records the level each trial ran with. */
interface FactorColumn {
  key: string;
  title: string;
  /** the level as text, and a number to order levels by; null where the setting does not apply (a workload's rate for an idle guest) */
  of(r: FlatTrial): { text: string; order: number } | null;
}

const onXen = (r: FlatTrial) => r.hypervisor.split(' ')[0] === 'xen';
/** A migration setting xl has no say in: it does not apply to a Xen row (uncapped, no limit, none of QEMU's features), so Xen pairs beside QEMU pairs do not make it look varied. */
const unlessXen = (of: FactorColumn['of']): FactorColumn['of'] => (r) => (onXen(r) ? null : of(r));

const FACTOR_COLUMNS: FactorColumn[] = [
  { key: 'hypervisor', title: 'hypervisor', of: (r) => ({ text: r.hypervisor, order: ['qemu', 'libvirt', 'xen'].indexOf(r.hypervisor.split(' ')[0]!) }) },
  { key: 'dirtyRateMiBps', title: 'write rate', of: (r) => (r.writeRate === null ? null : { text: r.writeRate === 'max' ? 'flat out' : `${r.writeRate} MiB/s`, order: r.writeRate === 'max' ? Infinity : Number(r.writeRate) }) },
  { key: 'pattern', title: 'write pattern', of: (r) => (r.pattern === null ? null : { text: r.pattern, order: r.pattern === 'seq' ? 0 : 1 }) },
  { key: 'memoryMiB', title: 'VM memory', of: (r) => ({ text: r.vmMemoryMiB === null ? 'as set' : `${r.vmMemoryMiB} MiB`, order: r.vmMemoryMiB ?? 0 }) },
  { key: 'vcpus', title: 'vCPUs', of: (r) => ({ text: r.vcpus === null ? 'as set' : String(r.vcpus), order: r.vcpus ?? 0 }) },
  { key: 'bandwidthMiBps', title: 'bandwidth cap', of: unlessXen((r) => ({ text: r.bandwidthMiBps === null ? 'none' : `${r.bandwidthMiBps} MiB/s`, order: r.bandwidthMiBps ?? Infinity })) },
  { key: 'downtimeLimitMs', title: 'downtime limit', of: unlessXen((r) => ({ text: r.downtimeLimitMs === null ? 'none' : `${r.downtimeLimitMs} ms`, order: r.downtimeLimitMs ?? Infinity })) },
  { key: 'xbzrle', title: 'XBZRLE', of: unlessXen((r) => (r.xbzrleCacheMiB === null ? { text: 'off', order: -1 } : { text: `${r.xbzrleCacheMiB} MiB cache`, order: r.xbzrleCacheMiB })) },
  { key: 'multifd', title: 'multifd', of: unlessXen((r) => (r.multifd === null ? { text: 'off', order: -1 } : { text: `${r.multifd} channels`, order: Number.parseInt(r.multifd, 10) + (r.multifd.includes('×') ? 0.5 : 0) })) },
  { key: 'autoConverge', title: 'auto-converge', of: unlessXen((r) => (r.autoConvergeLevel === null ? { text: 'off', order: -1 } : { text: r.autoConvergeLevel, order: Number.parseInt(r.autoConvergeLevel, 10) })) },
  { key: 'pause', title: 'guest paused', of: unlessXen((r) => (r.pauseLevel === null ? { text: 'off', order: -1 } : { text: `after ${r.pauseLevel} pass${r.pauseLevel === 1 ? '' : 'es'}`, order: r.pauseLevel })) },
  { key: 'pauseBeforeSwitchover', title: 'pause before switchover', of: unlessXen((r) => (r.pauseBeforeSwitchover ? { text: 'on', order: 1 } : { text: 'off', order: 0 })) },
  { key: 'postcopy', title: 'post-copy', of: unlessXen((r) => (r.postcopyLevel === null ? { text: 'off', order: -1 } : { text: `after ${r.postcopyLevel}`, order: Number.parseFloat(r.postcopyLevel) + Number.parseFloat(r.postcopyLevel.split(' at ')[1] ?? '0') / 1e6 })) },
];

const MEASURES = [
  { key: 'tmtMs', title: 'TMT (ms)' },
  { key: 'dtMs', title: 'DT (ms)' },
  { key: 'mdMiB', title: 'MD (MiB)' },
] as const;
type MeasureKey = (typeof MEASURES)[number]['key'];

/** The factors that take more than one level among the campaign's factorial rows, with their levels in order. */
export function variedFactors(rows: readonly FlatTrial[]): { factor: FactorColumn; levels: string[] }[] {
  const factorial = rows.filter((r) => r.levels !== null);
  return FACTOR_COLUMNS.flatMap((factor) => {
    const seen = new Map<string, number>();
    for (const r of factorial) {
      const l = factor.of(r);
      if (l) seen.set(l.text, l.order);
    }
    return seen.size > 1 ? [{ factor, levels: [...seen.entries()].sort((a, b) => a[1] - b[1]).map(([t]) => t) }] : [];
  });
}

export interface EffectRow {
  factor: string;
  level: string;
  baseline: string;
  measure: string;
  /** pairs of trials alike in all else that moved live at both levels */
  pairs: number;
  meanDiff: number | null;
  ciLo: number | null;
  ciHi: number | null;
  /** the mean difference over the baseline level's mean in those pairs */
  relative: number | null;
}

export interface ConvergenceRow {
  factor: string;
  level: string;
  trials: number;
  live: number;
}

/** Each level of each varied factor against its first level: paired differences, and convergence. */
export function factorEffects(rows: readonly FlatTrial[]): { effects: EffectRow[]; convergence: ConvergenceRow[] } {
  const factorial = rows.filter((r) => r.levels !== null);
  const varied = variedFactors(factorial);
  const effects: EffectRow[] = [];
  const convergence: ConvergenceRow[] = [];
  for (const { factor, levels } of varied) {
    const others = varied.filter((v) => v.factor !== factor);
    // trials alike in everything but this factor share a key
    const keyOf = (r: FlatTrial) => [r.campaign, r.scenario, r.workingSetMiB, r.repetition, ...others.map((o) => o.factor.of(r)?.text ?? '-')].join('\u0000');
    const byLevel = new Map<string, Map<string, FlatTrial>>(levels.map((l) => [l, new Map()]));
    for (const r of factorial) {
      const l = factor.of(r);
      if (l) byLevel.get(l.text)!.set(keyOf(r), r);
    }
    for (const level of levels) {
      const at = [...byLevel.get(level)!.values()];
      convergence.push({ factor: factor.title, level, trials: at.length, live: at.filter((r) => r.mode === 'live').length });
    }
    const base = byLevel.get(levels[0]!)!;
    for (const level of levels.slice(1)) {
      for (const m of MEASURES) {
        const diffs: number[] = [];
        const bases: number[] = [];
        for (const [k, r] of byLevel.get(level)!) {
          const b = base.get(k);
          const v = measure(r, m.key);
          const w = b ? measure(b, m.key) : null;
          if (v !== null && w !== null) {
            diffs.push(v - w);
            bases.push(w);
          }
        }
        const mean = diffs.length ? diffs.reduce((a, b) => a + b, 0) / diffs.length : null;
        const sd = diffs.length > 1 ? Math.sqrt(diffs.reduce((a, d) => a + (d - mean!) ** 2, 0) / (diffs.length - 1)) : null;
        const ci = mean !== null && sd !== null ? meanCi(diffs.length, mean, sd) : null;
        const baseMean = bases.length ? bases.reduce((a, b) => a + b, 0) / bases.length : null;
        effects.push({ factor: factor.title, level, baseline: levels[0]!, measure: m.title, pairs: diffs.length, meanDiff: mean, ciLo: ci?.lo ?? null, ciHi: ci?.hi ?? null, relative: mean !== null && baseMean ? mean / baseMean : null });
      }
    }
  }
  return { effects, convergence };
}

/** A live move's measure; null for a trial that did not move live (an offline move is another experiment). */
function measure(r: FlatTrial, key: MeasureKey): number | null {
  return r.mode === 'live' ? r[key] : null;
}

/**
 * Live moves whose pause level was never reached: QEMU converged before the pass that was to pause
 * the guest (a small working set can converge right after the first pass). Null when there are none.
 */
export function pauseNotReached(rows: readonly FlatTrial[]): { notPaused: number; live: number } | null {
  const withPause = rows.filter((r) => r.pauseLevel !== null && r.mode === 'live');
  const notPaused = withPause.filter((r) => r.pausedAtPass === null).length;
  return notPaused === 0 ? null : { notPaused, live: withPause.length };
}

/**
 * Live moves whose post-copy level never switched: QEMU converged in precopy before the pass that
 * was to start post-copy. Null when there are none.
 */
export function postcopyNotReached(rows: readonly FlatTrial[]): { notSwitched: number; live: number } | null {
  const withPostcopy = rows.filter((r) => r.postcopyLevel !== null && r.mode === 'live');
  const notSwitched = withPostcopy.filter((r) => r.postcopyAtPass === null).length;
  return notSwitched === 0 ? null : { notSwitched, live: withPostcopy.length };
}

const f1 = (v: number | null) => (v === null ? '–' : v.toFixed(1));

export function factorBlocks(rows: readonly FlatTrial[], order: { kind: string; seed: number } | null): Block[] {
  const varied = variedFactors(rows);
  if (varied.length === 0) return [];
  const { effects, convergence } = factorEffects(rows);
  const combos = new Set(rows.filter((r) => r.levels !== null).map((r) => r.levels)).size;
  const unpaused = pauseNotReached(rows);
  const unswitched = postcopyNotReached(rows);
  return [
    {
      kind: 'text',
      text:
        `${varied.length} factor${varied.length === 1 ? '' : 's'} varied (${varied.map((v) => `${v.factor.title}: ${v.levels.join(', ')}`).join('; ')}), ${combos} combinations` +
        `${order ? `, run in ${order.kind === 'random' ? `random order (seed ${order.seed}), all of one repetition before the next` : 'the order listed'}` : ''}. ` +
        "Each level's effect is the mean difference from the factor's first level over pairs of trials alike in everything else (scenario, working set, the other factors' levels, repetition) that moved live at both levels, with its 95 % t interval: an interval that excludes 0 is an effect the repetitions resolve. Trials that did not move live are left out of the differences and counted in the convergence table; the tables above and the cliffs list each combination as its own condition.",
    },
    ...(unpaused
      ? [
          {
            kind: 'text' as const,
            text: `${unpaused.notPaused} of ${unpaused.live} live moves with a pause level converged before their pause point, so their guest was never paused (trials.csv: no pausedAtPass): their differences are not the pause's. A working set that takes more passes, or a lower downtime limit, lets the pause happen.`,
          },
        ]
      : []),
    ...(unswitched
      ? [
          {
            kind: 'text' as const,
            text: `${unswitched.notSwitched} of ${unswitched.live} live moves with a post-copy level converged in precopy before their switch point, so they never ran post-copy (trials.csv: no postcopyAtPass): their differences are not post-copy's. A working set that takes more passes, or a lower downtime limit, lets the switch happen.`,
          },
        ]
      : []),
    {
      kind: 'table',
      headers: ['factor', 'level', 'against', 'measure', 'pairs', 'mean difference [95 % CI]', 'relative'],
      align: ['l', 'l', 'l', 'l', 'r', 'r', 'r'],
      rows: effects.map((e) => [e.factor, e.level, e.baseline, e.measure, String(e.pairs), `${f1(e.meanDiff)}${e.ciLo !== null ? ` [${f1(e.ciLo)}, ${f1(e.ciHi)}]` : ''}`, e.relative === null ? '–' : `${e.relative >= 0 ? '+' : ''}${(e.relative * 100).toFixed(0)} %`]),
    },
    {
      kind: 'table',
      headers: ['factor', 'level', 'trials', 'moved live'],
      align: ['l', 'l', 'r', 'r'],
      rows: convergence.map((c) => [c.factor, c.level, String(c.trials), `${c.live} (${c.trials ? ((c.live / c.trials) * 100).toFixed(0) : 0} %)`]),
    },
  ];
}

/** One figure per varied factor and measure: the mean over live moves at each level, a line per level of the next varied factor (or per working set). */
export function factorFigures(rows: readonly FlatTrial[], firstFig: number): Figure[] {
  const varied = variedFactors(rows);
  const live = rows.filter((r) => r.levels !== null && r.mode === 'live');
  const figs: Figure[] = [];
  let fig = firstFig;
  for (const [i, { factor, levels }] of varied.entries()) {
    const other = varied[(i + 1) % varied.length];
    const lineOf = other && other.factor !== factor ? (r: FlatTrial) => `${other.factor.title} ${other.factor.of(r)?.text ?? '-'}` : (r: FlatTrial) => `${r.workingSetMiB ?? 'idle'} MiB`;
    for (const m of MEASURES.slice(0, 2)) {
      const groups = new Map<string, { level: string; line: string; sum: number; n: number }>();
      for (const r of live) {
        const v = r[m.key];
        if (v === null) continue;
        const level = factor.of(r)?.text;
        if (level === undefined) continue;
        const line = lineOf(r);
        const g = groups.get(`${level}\u0000${line}`) ?? groups.set(`${level}\u0000${line}`, { level, line, sum: 0, n: 0 }).get(`${level}\u0000${line}`)!;
        g.sum += v;
        g.n++;
      }
      const values = [...groups.values()].map((g) => ({ level: g.level, line: g.line, mean: g.sum / g.n, n: g.n }));
      figs.push({
        id: `fig${fig}-factor-${factor.key}-${m.key}`,
        title: `Fig. ${fig}: ${m.title} against ${factor.title}`,
        caption: `Mean ${m.title} of the live moves at each ${factor.title} level (over the other factors, working sets and repetitions), a line per ${other && other.factor !== factor ? `${other.factor.title} level` : 'working set'}. ${values.reduce((a, v) => a + v.n, 0)} live moves; trials that did not move live are not drawn (see the convergence table).`,
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          width: 360,
          height: 240,
          data: { values },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'level', type: 'ordinal', sort: levels, title: factor.title },
            y: { field: 'mean', type: 'quantitative', title: `mean ${m.title}` },
            color: { field: 'line', type: 'nominal', title: null },
            tooltip: [{ field: 'n', title: 'trials' }],
          },
        },
      });
      fig++;
    }
  }
  return figs;
}
