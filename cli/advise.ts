/**
 * `miglab advise`: the migration settings the precopy model expects to meet a bound on downtime
 * and total time, for a campaign's VM and hosts and one workload; `--verify` writes a small
 * campaign with the best of them beside the original and runs it, to check.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { predictTrial, type ModelLink, type ModelPlan, DEFAULT_OVERHEADS } from '../workflows/precopy-model.js';
import { campaignModelInputs, type CampaignPrediction, type PredictOptions } from './predict.js';
import { UserError } from '../lib/errors.js';
import type { TrialRow } from '../workflows/trial-types.js';

export interface AdviseOptions extends PredictOptions {
  /** null: the idle guest */
  workingSetMiB: number | null;
  rate: 'max' | number;
  pattern: 'seq' | 'random';
  maxDowntimeMs?: number;
  maxTotalS?: number;
}

export interface Setting {
  bandwidthMiBps: number;
  downtimeLimitMs: number;
  mode: 'precopy' | 'auto-converge' | 'post-copy';
}

export interface Candidate {
  setting: Setting;
  meets: boolean;
  /** why it does not meet the bound */
  misses: string[];
  verdict: 'converged' | 'failed';
  passes: number | null;
  tmtMs: number | null;
  dtMs: number | null;
  mdMiB: number | null;
}

export interface Advice {
  campaign: string;
  workload: string;
  bound: { maxDowntimeMs: number | null; maxTotalS: number | null };
  inputs: CampaignPrediction['inputs'];
  /** the hosts could not reach the cap: faster settings are not offered */
  reachedMiBps: number | null;
  /** every candidate, those that meet the bound first, then by total time */
  candidates: Candidate[];
}

const DOWNTIME_LIMITS_MS = [100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000];
const BANDWIDTH_FACTORS = [0.5, 1, 2, 4];

export async function advise(file: string, o: AdviseOptions): Promise<Advice> {
  if (o.maxDowntimeMs === undefined && o.maxTotalS === undefined) throw new UserError('advise needs a bound to meet', 'give --max-downtime <ms>, --max-total <s>, or both');
  const { spec, inputs, rules, guestWith, reachedMiBps, allXen } = await campaignModelInputs(file, o);
  if (allXen) throw new UserError(`${file}: xl has no settings to advise on (no bandwidth cap, downtime limit or auto-converge)`, 'advise a QEMU or libvirt campaign');
  const guest = guestWith(o.workingSetMiB, o.rate, o.pattern);
  const cap = spec.migration.bandwidthMiBps!;
  // a cap above what the hosts reach is not a faster migration
  const bandwidths = [...new Set(BANDWIDTH_FACTORS.map((f) => cap * f).map((b) => (reachedMiBps !== null ? Math.min(b, reachedMiBps) : b)))];
  const candidates: Candidate[] = [];
  for (const bandwidthMiBps of bandwidths) {
    const link: ModelLink = { ...inputs.bandwidth, bandwidthMiBps };
    for (const downtimeLimitMs of DOWNTIME_LIMITS_MS) {
      for (const mode of ['precopy', 'auto-converge', 'post-copy'] as const) {
        const plan: ModelPlan = { index: 0, name: mode, downtimeLimitMs, autoConverge: mode === 'auto-converge' ? { initialThrottle: 20, increment: 10 } : null, postcopy: mode === 'post-copy' };
        const p = predictTrial(guest, link, [plan], { ...rules, fallback: 'none' }, DEFAULT_OVERHEADS);
        const misses: string[] = [];
        if (p.verdict !== 'converged') misses.push('does not converge');
        else {
          if (o.maxDowntimeMs !== undefined && p.dtMs! > o.maxDowntimeMs) misses.push(`DT ${Math.round(p.dtMs!)} ms`);
          if (o.maxTotalS !== undefined && p.tmtMs! > o.maxTotalS * 1000) misses.push(`TMT ${(p.tmtMs! / 1000).toFixed(1)} s`);
        }
        candidates.push({
          setting: { bandwidthMiBps, downtimeLimitMs, mode },
          meets: misses.length === 0,
          misses,
          verdict: p.verdict === 'converged' ? 'converged' : 'failed',
          passes: p.passes,
          tmtMs: p.tmtMs,
          dtMs: p.dtMs,
          mdMiB: p.mdBytes === null ? null : p.mdBytes / 2 ** 20,
        });
      }
    }
  }
  // meeting the bound first; then the shortest total time, then the least data, then the simplest mode
  const modeRank = { precopy: 0, 'auto-converge': 1, 'post-copy': 2 };
  candidates.sort((a, b) => Number(b.meets) - Number(a.meets) || (a.tmtMs ?? Infinity) - (b.tmtMs ?? Infinity) || (a.mdMiB ?? Infinity) - (b.mdMiB ?? Infinity) || modeRank[a.setting.mode] - modeRank[b.setting.mode]);
  return {
    campaign: spec.campaign,
    workload: o.workingSetMiB === null ? 'idle' : `${o.workingSetMiB} MiB, ${o.rate === 'max' ? 'flat out' : `${o.rate} MiB/s`}, ${o.pattern}`,
    bound: { maxDowntimeMs: o.maxDowntimeMs ?? null, maxTotalS: o.maxTotalS ?? null },
    inputs,
    reachedMiBps,
    candidates,
  };
}

export function formatAdvice(a: Advice, top = 8): string {
  const bound = [a.bound.maxDowntimeMs !== null ? `DT ≤ ${a.bound.maxDowntimeMs} ms` : '', a.bound.maxTotalS !== null ? `TMT ≤ ${a.bound.maxTotalS} s` : ''].filter(Boolean).join(', ');
  const meeting = a.candidates.filter((c) => c.meets);
  const lines = [
    `campaign ${a.campaign}, workload ${a.workload}, bound ${bound}: ${meeting.length} of ${a.candidates.length} settings the model expects to meet it`,
    `  inputs as \`miglab predict\` takes them: guest base ${a.inputs.guestBaseMiB.value.toFixed(1)} MiB (${a.inputs.guestBaseMiB.source}), idle ${a.inputs.idleDirtyMiBps.value.toFixed(2)} MiB/s (${a.inputs.idleDirtyMiBps.source})${a.reachedMiBps !== null ? `; the hosts reached ${a.reachedMiBps.toFixed(0)} MiB/s, no faster cap is offered` : ''}`,
    '',
    `${'bandwidth'.padStart(10)} ${'limit ms'.padStart(8)} ${'mode'.padEnd(14)} ${'TMT s'.padStart(7)} ${'DT ms'.padStart(7)} ${'MD MiB'.padStart(7)}  meets`,
  ];
  const shown = (meeting.length ? meeting : a.candidates).slice(0, top);
  for (const c of shown) {
    const n = (v: number | null, f: (v: number) => string) => (v === null ? '–' : f(v));
    lines.push(`${c.setting.bandwidthMiBps.toFixed(0).padStart(10)} ${String(c.setting.downtimeLimitMs).padStart(8)} ${c.setting.mode.padEnd(14)} ${n(c.tmtMs, (v) => (v / 1000).toFixed(2)).padStart(7)} ${n(c.dtMs, (v) => v.toFixed(0)).padStart(7)} ${n(c.mdMiB, (v) => v.toFixed(1)).padStart(7)}  ${c.meets ? 'yes' : `no: ${c.misses.join(', ')}`}`);
  }
  if (!meeting.length) lines.push('', 'No setting meets the bound by the model: the closest are listed.');
  if (shown.some((c) => c.setting.mode === 'post-copy')) lines.push('', 'post-copy: the guest runs on the destination before its memory has arrived; its DT is the switch alone, and it pays in page faults afterwards.');
  return lines.join('\n');
}

/**
 * A small campaign with the advised setting, beside the original (so its hosts, keys and bed
 * resolve the same): one scenario, `repetitions` trials, no fallback. A first attempt cannot be
 * auto-converge or post-copy in a campaign file: those modes are its ladder's one rung.
 */
export function writeVerifyCampaign(file: string, original: Record<string, unknown>, a: Advice, o: AdviseOptions, repetitions: number): string {
  const best = a.candidates.find((c) => c.meets);
  if (!best) throw new UserError('no setting meets the bound by the model: there is nothing to verify', 'loosen the bound, or run the closest setting as a campaign of your own');
  const s = best.setting;
  const name = `${String(original.campaign)}-advice`;
  const spec = {
    ...original,
    campaign: name,
    scenarios: [o.workingSetMiB === null ? { name: 'baseline', kind: 'baseline' } : { name: 'advised', kind: 'dirty-ramp', workingSetsMiB: [o.workingSetMiB], rate: o.rate, pattern: o.pattern }],
    repetitions,
    migration: { ...(original.migration as object), bandwidthMiBps: s.bandwidthMiBps, downtimeLimitMs: s.downtimeLimitMs },
    ladder: s.mode === 'auto-converge' ? [{ step: 'auto-converge' }] : s.mode === 'post-copy' ? [{ step: 'postcopy' }] : [],
    fallback: 'none',
    results: join(String(original.results ?? 'results'), '..', name),
  };
  const out = join(dirname(file), `${name}.yaml`);
  writeFileSync(out, `# written by \`miglab advise --verify\`: the setting the model expects to meet ${JSON.stringify(a.bound)} for ${a.workload}\n${stringify(spec)}`);
  return out;
}

export interface VerifiedAdvice {
  file: string;
  trials: { trialId: string; outcome: string; tmtMs: number | null; dtHypervisorMs: number | null; dtProbeMs: number | null }[];
  /** trials that moved live within the bound, by the hypervisor's downtime (what the model predicts) and by the probe's */
  metByHypervisorDt: number;
  metByProbeDt: number;
}

/** The verify campaign's rows against the bound. */
export function checkAdvice(file: string, rows: readonly TrialRow[], bound: Advice['bound']): VerifiedAdvice {
  const within = (tmt: number | null, dt: number | null) => tmt !== null && dt !== null && (bound.maxDowntimeMs === null || dt <= bound.maxDowntimeMs) && (bound.maxTotalS === null || tmt <= bound.maxTotalS * 1000);
  const trials = rows.map((r) => ({ trialId: r.trialId, outcome: r.outcome.kind, tmtMs: r.metrics?.tmtMs ?? null, dtHypervisorMs: r.metrics?.downtime.qemuMs ?? null, dtProbeMs: r.metrics?.downtime.probeMs ?? null }));
  const live = trials.filter((t) => t.outcome === 'converged');
  return { file, trials, metByHypervisorDt: live.filter((t) => within(t.tmtMs, t.dtHypervisorMs)).length, metByProbeDt: live.filter((t) => within(t.tmtMs, t.dtProbeMs)).length };
}
