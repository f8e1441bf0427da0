/**
 * Benchmark (not a test): how faithfully does a ping probe report downtime, by its interval?
 * Reads a recorded campaign (default: the paper run) and, per working set, puts side by side
 * QEMU's own downtime, the guest's clock lag, and what a 10 ms, 100 ms and 1 s ping report, read
 * two ways (largest reply gap, lost replies). The coarse probes are the 10 ms probe's own requests
 * thinned to every 10th or 100th, at each possible phase: the same packets, answered at the same
 * moments, so the only difference is the interval.
 * Usage: npm run bench:downtime [-- results-dir]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePingLine, thinnedProbe as thinned, type PingEvent } from '../activities/probe/ping-output.js';
import { ResultsStore } from '../results/store.js';
import { statePaths } from '../lib/paths.js';
import type { TrialRow } from '../workflows/trial-types.js';

const dir = process.argv[2] ?? join(statePaths().root, 'results', 'paper');
const INTERVALS_MS = [10, 100, 1000];

/** Two ways to read downtime off a ping: the largest reply gap less one interval (miglab's), and lost replies × interval (the usual reading of a ping log). */
interface Reading {
  gapMs: number;
  lossMs: number;
}

interface Sample {
  workingSetMiB: number | null;
  qemuMs: number | null;
  guestMs: number | null;
  /** per probe interval: the reading at each phase */
  readings: Map<number, Reading[]>;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const fmt = (x: number | null) => (x === null || Number.isNaN(x) ? '–' : x.toFixed(0));

async function main() {
  const store = new ResultsStore(dir);
  const rows = await store.readTrials<TrialRow>();
  const samples: Sample[] = [];
  for (const { row } of rows) {
    const file = join(store.trialRawDir(row.trialId), 'probe', 'ping.txt');
    if (!existsSync(file) || !row.metrics || !row.probe) continue;
    const fine = row.probe.intervalMs;
    const events = readFileSync(file, 'utf8').split('\n').map(parsePingLine).filter((e): e is PingEvent => e !== undefined);
    const maxSeq = Math.max(0, ...events.map((e) => e.seq));
    const readings = new Map<number, Reading[]>();
    for (const ms of INTERVALS_MS) {
      const every = Math.max(1, Math.round(ms / fine));
      readings.set(ms, Array.from({ length: every }, (_, phase) => thinned(events, maxSeq, every, phase, fine)));
    }
    samples.push({ workingSetMiB: row.workingSetMiB, qemuMs: row.metrics.downtime.qemuMs, guestMs: row.metrics.downtime.guestClockLagMs, readings });
  }
  if (samples.length === 0) throw new Error(`no trial with a probe record in ${dir}`);
  const groups = [...new Set(samples.map((s) => s.workingSetMiB))].sort((a, b) => (a ?? -1) - (b ?? -1));
  const lines = [
    `Downtime as a ping of each interval would report it, ${samples.length} trials of ${dir}.`,
    'gap: largest reply gap less one interval; loss: lost replies × interval. Coarse probes: mean over trials and phases [min–max].',
    '',
    `| working set | n | QEMU | guest clock lag | ${INTERVALS_MS.map((ms) => `${ms} ms gap | ${ms} ms loss`).join(' | ')} | 1 s loss = 0 |`,
    `|:---|---:|---:|---:|${INTERVALS_MS.map(() => '---:|---:').join('|')}|---:|`,
  ];
  for (const g of groups) {
    const ss = samples.filter((s) => s.workingSetMiB === g);
    const nn = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
    const cells = INTERVALS_MS.map((ms) => {
      const all = ss.flatMap((s) => s.readings.get(ms)!);
      const cell = (pick: (r: Reading) => number) => {
        const xs = all.map(pick);
        return ms === INTERVALS_MS[0] ? fmt(mean(xs)) : `${fmt(mean(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}]`;
      };
      return `${cell((r) => r.gapMs)} | ${cell((r) => r.lossMs)}`;
    });
    const oneSecond = ss.flatMap((s) => s.readings.get(1000)!);
    const zero = oneSecond.filter((r) => r.lossMs === 0).length / oneSecond.length;
    lines.push(`| ${g === null ? 'idle' : `${g} MiB`} | ${ss.length} | ${fmt(mean(nn(ss.map((s) => s.qemuMs))))} | ${fmt(mean(nn(ss.map((s) => s.guestMs))))} | ${cells.join(' | ')} | ${(zero * 100).toFixed(0)} % |`);
  }
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
