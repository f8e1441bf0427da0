/**
 * A campaign's trials as a pure function of a small plan: scenarios × sizes × combinations of
 * factor levels × repetitions, in a reproducible order. The campaign workflow expands its trials
 * from the plan as it goes (its input and history stay the same size however many trials there
 * are); the CLI, the manifest and the report expand the same plan and get the same ids.
 *
 * Sandbox code (see workflows/README.md).
 */
import type { Combination, Scenario } from '../campaign/spec.js';
import { trialId } from './names.js';
import type { ServiceLoad, WorkloadSpec } from './trial-types.js';

/** One combination of factor levels; a factor it leaves out keeps the campaign's own setting. */
export type Levels = Combination;
/** Each factor's levels. */
export type Factors = { [K in keyof Levels]?: NonNullable<Levels[K]>[] };

export interface CampaignPlan {
  campaign: string;
  scenarios: Scenario[];
  repetitions: number;
  /** the factors whose every combination runs (expanded as the trials are: the plan stays small) … */
  factors?: Factors;
  /** … or the combinations listed; neither: the campaign's own settings */
  combinations?: Levels[];
  order: { kind: 'as-listed' | 'random'; seed: number };
}

export interface PlannedTrial {
  /** campaign/scenario/size[/levels]/repetition, e.g. sweep/ramp/32MiB/bw32_xb64/r2 */
  id: string;
  /** its place in the run order, from 0 */
  index: number;
  scenario: string;
  kind: Scenario['kind'];
  /** the workload's working set, or a service scenario's key set; null for the baseline (no workload) */
  workingSetMiB: number | null;
  repetition: number;
  /** the levels this trial runs under (absent: the campaign's own settings) */
  levels?: Levels;
  workload: WorkloadSpec | null;
  service?: ServiceLoad;
}

/** What a campaign's spec says about its trials, as a plan (factors expanded to their combinations). */
export function planOf(spec: {
  campaign: string;
  scenarios: Scenario[];
  repetitions: number;
  factors?: Factors | undefined;
  combinations?: Levels[] | undefined;
  order?: { kind?: 'as-listed' | 'random' | undefined; seed?: number | undefined } | undefined;
}): CampaignPlan {
  const varied = !!spec.factors || !!spec.combinations;
  return {
    campaign: spec.campaign,
    scenarios: spec.scenarios,
    repetitions: spec.repetitions,
    ...(spec.combinations ? { combinations: spec.combinations } : spec.factors ? { factors: spec.factors } : {}),
    order: { kind: spec.order?.kind ?? (varied ? 'random' : 'as-listed'), seed: spec.order?.seed ?? seedOf(spec.campaign) },
  };
}

/** The factors in the order they vary (the first slowest) and label. */
export const FACTOR_KEYS = ['hypervisor', 'dirtyRateMiBps', 'pattern', 'memoryMiB', 'vcpus', 'bandwidthMiBps', 'downtimeLimitMs', 'xbzrle', 'multifd', 'autoConverge', 'postcopy', 'pause', 'pauseBeforeSwitchover'] as const;
export type FactorKey = (typeof FACTOR_KEYS)[number];

/** Every combination of the factors' levels, the first factor varying slowest. */
export function fullFactorial(factors: Factors): Levels[] {
  let combos: Levels[] = [{}];
  for (const key of FACTOR_KEYS) {
    const levels = factors[key] as unknown[] | undefined;
    if (!levels) continue;
    combos = combos.flatMap((c) => levels.map((l) => ({ ...c, [key]: l })));
  }
  return combos;
}

/** One level in a few characters, for trial ids: libvirt, mem512, cpu2, bw32, dl300, xb64 / xboff, mfd4zstd, ac20-10, pc1-bw64. */
export function levelText(key: FactorKey, level: NonNullable<Levels[FactorKey]>): string {
  switch (key) {
    case 'hypervisor':
      return level as string;
    case 'dirtyRateMiBps':
      return `dr${level as number | 'max'}`;
    case 'pattern':
      return level === 'seq' ? 'pseq' : 'prand';
    case 'memoryMiB':
      return `mem${level as number}`;
    case 'vcpus':
      return `cpu${level as number}`;
    case 'bandwidthMiBps':
      return `bw${level as number}`;
    case 'downtimeLimitMs':
      return `dl${level as number}`;
    case 'xbzrle':
      return `xb${level as number | 'off'}`;
    case 'multifd': {
      const m = level as NonNullable<Levels['multifd']>;
      return m === 'off' ? 'mfdoff' : `mfd${m.channels}${m.compression === 'none' ? '' : m.compression}`;
    }
    case 'autoConverge': {
      const a = level as NonNullable<Levels['autoConverge']>;
      return a === 'off' ? 'acoff' : `ac${a.initialThrottle}-${a.increment}${a.maxThrottle === 99 ? '' : `-max${a.maxThrottle}`}${a.tailslow ? '-ts' : ''}`;
    }
    case 'pauseBeforeSwitchover':
      return level ? 'pbs' : 'pbsoff';
    case 'pause': {
      const p = level as NonNullable<Levels['pause']>;
      return p === 'off' ? 'pauseoff' : `pause${p.afterPasses}`;
    }
    case 'postcopy': {
      const p = level as NonNullable<Levels['postcopy']>;
      return p === 'off' ? 'pcoff' : `pc${p.afterPasses}${p.bandwidthMiBps === undefined ? '' : `-bw${p.bandwidthMiBps}`}`;
    }
  }
}

/** A combination's label in trial ids: its levels joined by `_` (`base` for one that states none). */
export function levelsLabel(levels: Levels): string {
  const parts = FACTOR_KEYS.filter((k) => levels[k] !== undefined).map((k) => levelText(k, levels[k]!));
  return parts.length ? parts.join('_') : 'base';
}

interface Cell {
  scenario: Scenario;
  size: number | null;
  levels: Levels | undefined;
}

/** The combinations every scenario and size runs under, in listed order; [undefined]: the campaign's own settings. */
export function combinationsOf(plan: CampaignPlan): (Levels | undefined)[] {
  return plan.combinations ?? (plan.factors ? fullFactorial(plan.factors) : [undefined]);
}

/** The workload's own factors: they vary the dirtier, so a scenario without one runs each other combination once. */
const WORKLOAD_KEYS = ['dirtyRateMiBps', 'pattern'] as const;

function cellsOf(plan: CampaignPlan): Cell[] {
  const combinations = combinationsOf(plan);
  const cells: Cell[] = [];
  for (const scenario of plan.scenarios) {
    const sizes: (number | null)[] = scenario.kind === 'dirty-ramp' ? scenario.workingSetsMiB : scenario.kind === 'service' ? scenario.keySetsMiB : [null];
    const own = scenario.kind === 'dirty-ramp' ? combinations : withoutWorkloadLevels(combinations);
    for (const size of sizes) for (const levels of own) cells.push({ scenario, size, levels });
  }
  return cells;
}

/** The combinations with the workload's levels left out, each once (in first-seen order). */
function withoutWorkloadLevels(combinations: (Levels | undefined)[]): (Levels | undefined)[] {
  if (!combinations.some((c) => c && WORKLOAD_KEYS.some((k) => c[k] !== undefined))) return combinations;
  const seen = new Set<string>();
  const out: Levels[] = [];
  for (const c of combinations) {
    const rest: Levels = { ...c };
    for (const k of WORKLOAD_KEYS) delete rest[k];
    const label = levelsLabel(rest);
    if (!seen.has(label)) {
      seen.add(label);
      out.push(rest);
    }
  }
  return out;
}

/** How many trials the plan has. */
export function trialCount(plan: CampaignPlan): number {
  return cellsOf(plan).length * plan.repetitions;
}

/**
 * The plan's trials in run order, from the `from`-th on. as-listed: scenario by scenario, size by
 * size, the repetitions of one cell together (the paper's order). random: repetition by
 * repetition, each one's cells shuffled by the seed.
 */
export function* plannedTrials(plan: CampaignPlan, from = 0): Generator<PlannedTrial> {
  const cells = cellsOf(plan);
  const n = cells.length;
  const at = (cellIndex: number, repetition: number, index: number): PlannedTrial => trialOf(plan, cells[cellIndex]!, repetition, index);
  if (plan.order.kind === 'as-listed') {
    for (let i = from; i < n * plan.repetitions; i++) yield at(Math.floor(i / plan.repetitions), (i % plan.repetitions) + 1, i);
    return;
  }
  for (let r = Math.floor(from / n) + 1; r <= plan.repetitions; r++) {
    const order = shuffled(n, mix(plan.order.seed, r));
    for (let j = r === Math.floor(from / n) + 1 ? from % n : 0; j < n; j++) yield at(order[j]!, r, (r - 1) * n + j);
  }
}

function trialOf(plan: CampaignPlan, cell: Cell, repetition: number, index: number): PlannedTrial {
  const s = cell.scenario;
  const levels = cell.levels;
  const id = trialId({ campaign: plan.campaign, scenario: s.name, workingSetMiB: cell.size, repetition, ...(levels ? { levels: levelsLabel(levels) } : {}) });
  const base = { id, index, scenario: s.name, kind: s.kind, workingSetMiB: cell.size, repetition, ...(levels ? { levels } : {}) };
  if (s.kind === 'service') {
    const { service, valueBytes, requestsPerS, setFraction, timeoutMs } = s;
    return { ...base, workload: null, service: { service, keySetMiB: cell.size!, valueBytes, requestsPerS, setFraction, timeoutMs } };
  }
  if (s.kind === 'dirty-ramp') return { ...base, workload: { workingSetMiB: cell.size!, rate: levels?.dirtyRateMiBps ?? s.rate, pattern: levels?.pattern ?? s.pattern } };
  return { ...base, workload: null };
}

/** A seed from a name (FNV-1a), so that a campaign's order is the same on every run of its file. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const mix = (seed: number, r: number) => (Math.imul(seed ^ Math.imul(r, 0x9e3779b1), 0x85ebca6b) >>> 0) ^ r;

/** 0..n-1 shuffled (Fisher–Yates) by a small seeded generator (mulberry32): the same on every machine. */
export function shuffled(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
