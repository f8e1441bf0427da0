/** The report's section on how TMT, DT and MD move with the working set (trends.ts), beside the paper's finding. */
import type { Block } from './document.js';
import type { FlatTrial } from './flatten.js';
import { trends, type Trend, type TrendMeasure } from './trends.js';

const NAMES: Record<TrendMeasure, { name: string; unit: string; digits: number }> = {
  tmtMs: { name: 'TMT', unit: 'ms', digits: 0 },
  dtMs: { name: 'DT', unit: 'ms', digits: 1 },
  mdMiB: { name: 'MD', unit: 'MiB', digits: 2 },
};

const num = (v: number, digits: number) => (v >= 0 ? '+' : '') + v.toFixed(digits);

/** "+412.0 ms per MiB [120.4, 703.6]" */
export function slopeText(t: Trend): string {
  const u = NAMES[t.measure];
  if (t.slope === null) return '–';
  return `${num(t.slope, u.digits)} ${u.unit} per MiB${t.ci ? ` [${t.ci.lo.toFixed(u.digits)}, ${t.ci.hi.toFixed(u.digits)}]` : ''}`;
}

/** One sentence per hypervisor and ramp: what its downtime did, as the paper's Fig. 8 shows it. */
export function downtimeSentences(all: readonly Trend[]): string[] {
  return all.filter((t) => t.measure === 'dtMs').map((t) => {
    const what = t.verdict === 'grows' ? 'grows with the working set' : t.verdict === 'falls' ? 'falls as the working set grows' : t.verdict === 'no clear trend' ? 'shows no clear trend with the working set' : 'has too few live moves to tell (3 working sets are needed)';
    return `${t.hypervisor} (${t.scenario}): DT ${what}${t.slope !== null && t.verdict !== 'too few points' ? ` (${slopeText(t)}, Spearman ρ ${t.rho === null ? '–' : t.rho.toFixed(2)}, ${t.n} live moves over ${t.sizes} working sets)` : ''}.`;
  });
}

export function trendBlocks(rows: readonly FlatTrial[]): Block[] {
  const all = trends(rows);
  if (!all.length) return [];
  return [
    {
      kind: 'text',
      text: `The paper: KVM stopped converging once 32 MB of memory was dirtied, and Xen's downtime rose markedly with the dirty memory (to about 16–17 s). Here, over the trials that moved live: ${downtimeSentences(all).join(' ')}`,
    },
    {
      kind: 'table',
      headers: ['hypervisor', 'scenario', 'measure', 'live moves (working sets)', 'change per MiB of working set [95 % CI]', 'Spearman ρ', 'verdict'],
      align: ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
      rows: all.map((t) => [t.hypervisor, t.scenario, NAMES[t.measure].name, `${t.n} (${t.sizes})`, slopeText(t), t.rho === null ? '–' : t.rho.toFixed(2), t.verdict]),
    },
    {
      kind: 'text',
      text: 'Change per MiB: the least-squares slope over every live move, one point per trial, with its 95 % t interval; a measure grows or falls only when that interval excludes 0. Spearman ρ: the rank correlation, which holds where the growth is not linear. Offline moves and the baseline are left out (the paper plots live migration against dirty memory).',
    },
  ];
}
