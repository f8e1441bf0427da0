/**
 * Benchmark (not a test): the report's analysis on 1,000,000 synthetic trial rows — flatten,
 * aggregate every table, render all seven figures — with wall time per stage and peak memory.
 * Usage: npm run bench:report [-- rows]   (default 1,000,000)
 * Rows are generated in memory (one TrialRow at a time, flattened at once, as the loader does);
 * reading a million row files from disk is not part of this measurement.
 */
import { performance } from 'node:perf_hooks';
import { analyze, buildCsv, buildFigures } from '../analysis/report.js';
import { flattenRow, type FlatTrial } from '../analysis/flatten.js';
import { syntheticRow, type SyntheticTrial } from '../analysis/synthetic.js';
import type { Trace, TraceEvent, TracePoint } from '../analysis/trace.js';

const N = Number(process.argv[2] ?? 1_000_000);
const HYPERVISORS = ['qemu', 'libvirt', 'xen'];
const SIZES = [null, 4, 8, 16, 24, 32, 40, 48, 64];

/** A deterministic pseudo-random stream (mulberry32): the same rows every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(n: number): FlatTrial[] {
  const r = rng(42);
  const out: FlatTrial[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const hypervisor = HYPERVISORS[i % HYPERVISORS.length]!;
    const ws = SIZES[Math.floor(i / HYPERVISORS.length) % SIZES.length]!;
    const above = (ws ?? 0) > 33.6;
    const u = r();
    const end: SyntheticTrial['end'] = u < 0.01 ? { failed: 'host unreachable' } : above && u < 0.6 ? 'offline' : above && u < 0.8 ? { ladder: 'auto-converge' } : 'precopy';
    const row = syntheticRow({
      trialId: `bench/${ws === null ? 'baseline' : 'ramp'}/${ws === null ? 'idle' : `${ws}MiB`}/r${i}`,
      workingSetMiB: ws,
      end,
      tmtMs: 900 + (ws ?? 0) * 12 + r() * 300,
      dtMs: 20 + r() * 80,
      guestGapMs: 30 + r() * 90,
      mdMiB: 88 + (ws ?? 0) * 1.7 + r() * 4,
      memory: { configuredMiB: 256, allocatedOnHostMiB: 240 + r() * 40, usedInGuestMiB: 30 + (ws ?? 0), requestedMiB: ws ?? 0, dirtiedMiB: ws === null ? null : ws * r() },
    });
    out[i] = flattenRow(row, { campaign: 'bench', hypervisor, trials: [] });
  }
  return out;
}

function syntheticTrace(): Trace {
  const points: TracePoint[] = [];
  const events: TraceEvent[] = [];
  for (let i = 0; i < 2000; i++) {
    const it = 1 + Math.floor(i / 100);
    if (i % 100 === 0 && it > 1) events.push({ timeS: i / 10, kind: 'iteration', label: `iteration ${it}` });
    points.push({ timeS: i / 10, attempt: '0: precopy', remainingMiB: 256 / it, dirtyMiBps: 60, iteration: it });
  }
  events.push({ timeS: 199.9, kind: 'abort', label: 'attempt 0 aborted: stall' });
  return { trialId: 'bench/ramp/64MiB/r0', points, events, predicted: [] };
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const t0 = performance.now();
const flat = generate(N);
const t1 = performance.now();
const stage: Record<string, number> = {};
const data = analyze(flat, (name, f) => {
  const a = performance.now();
  const r = f();
  stage[name] = +((performance.now() - a) / 1000).toFixed(2);
  return r;
});
const t2 = performance.now();
const figures = await buildFigures(data, syntheticTrace());
const t3 = performance.now();
const csv = buildCsv(data);
const t4 = performance.now();
const peakRss = process.resourceUsage().maxRSS * 1024;
const result = {
  rows: N,
  generateAndFlattenS: +((t1 - t0) / 1000).toFixed(2),
  aggregateS: +((t2 - t1) / 1000).toFixed(2),
  aggregateStagesS: stage,
  renderFiguresS: +((t3 - t2) / 1000).toFixed(2),
  aggregateAndRenderS: +((t3 - t1) / 1000).toFixed(2),
  csvExportS: +((t4 - t3) / 1000).toFixed(2),
  peakRssMiB: Number(mib(peakRss)),
  groups: data.summary.length,
  figures: figures.length,
  trialsCsvMiB: Number(mib(csv['trials.csv']!.length)),
};
process.stderr.write(
  `${N.toLocaleString('en')} rows: flatten ${result.generateAndFlattenS} s (with generation), aggregate ${result.aggregateS} s (${Object.entries(stage).map(([k, v]) => `${k} ${v}`).join(', ')}), render ${figures.length} figures ${result.renderFiguresS} s ` +
    `→ aggregate + render ${result.aggregateAndRenderS} s (goal < 3 s); CSV export ${result.csvExportS} s; peak RSS ${result.peakRssMiB} MiB\n`,
);
process.stdout.write(JSON.stringify(result) + '\n');
