/**
 * Benchmark (not a test): achieved migration throughput against the configured bandwidth cap.
 * Reads a recorded campaign (default: the paper run) and, for every live attempt, the bytes QEMU
 * sent while precopy was running (from the first to the last `active` poll, so neither the setup
 * nor the stop-and-copy, which QEMU does not throttle, is counted) over QEMU's own clock.
 * Usage: npm run bench:throughput [-- results-dir]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statePaths } from '../lib/paths.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;
const dir = process.argv[2] ?? join(statePaths().root, 'results', 'paper');

interface Poll {
  status: string;
  elapsedMs: number;
  transferredBytes: number;
  iterations: number;
}

/** MiB/s between the first and last of these polls, or null if they span no time. */
function rate(polls: readonly Poll[]): number | null {
  if (polls.length < 2) return null;
  const first = polls[0]!, last = polls.at(-1)!;
  const seconds = (last.elapsedMs - first.elapsedMs) / 1000;
  return seconds > 0 ? (last.transferredBytes - first.transferredBytes) / MiB / seconds : null;
}

async function main() {
  const store = new ResultsStore(dir);
  const rows = await store.readTrials<TrialRow>();
  const byGroup = new Map<string, { ratio: number; mibps: number; capMiBps: number; laterRatio: number | null }[]>();
  for (const { row } of rows) {
    for (const a of row.attempts) {
      if (!('maxBandwidth' in a.plan)) continue; // offline moves run uncapped by design
      const file = join(store.rawDir(row.trialId, a.plan.index), 'query-migrate.jsonl');
      if (!existsSync(file)) continue;
      const polls = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Poll).filter((p) => p.status === 'active');
      if (polls.length < 3) continue; // too short to see a rate
      const mibps = rate(polls);
      if (mibps === null) continue;
      const capMiBps = a.plan.maxBandwidth / MiB;
      // The first pass is mostly zero pages, which go out as a few bytes each: scanning, not the
      // link, sets its pace. From the second pass on, the pages sent are the dirtied ones.
      const later = rate(polls.filter((p) => p.iterations >= 2));
      const key = `${row.workingSetMiB === null ? 'idle' : `${row.workingSetMiB} MiB`} · ${a.plan.name}`;
      byGroup.set(key, [...(byGroup.get(key) ?? []), { ratio: mibps / capMiBps, mibps, capMiBps, laterRatio: later === null ? null : later / capMiBps }]);
    }
  }
  if (byGroup.size === 0) throw new Error(`no live attempt with recorded polls in ${dir}`);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const lines = [
    `Precopy throughput against the cap, ${dir} (first to last active poll, QEMU's clock)`,
    '',
    '| working set · attempt | n | cap MiB/s | achieved MiB/s (mean) | of cap (mean) | of cap (lowest) | of cap after the first pass (mean, n) |',
    '|:---|---:|---:|---:|---:|---:|---:|',
  ];
  const order = (k: string) => (k.startsWith('idle') ? -1 : Number(k.split(' ')[0]));
  for (const [k, xs] of [...byGroup.entries()].sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))) {
    const later = xs.map((x) => x.laterRatio).filter((x): x is number => x !== null);
    lines.push(`| ${k} | ${xs.length} | ${xs[0]!.capMiBps.toFixed(0)} | ${mean(xs.map((x) => x.mibps)).toFixed(1)} | ${(mean(xs.map((x) => x.ratio)) * 100).toFixed(0)} % | ${(Math.min(...xs.map((x) => x.ratio)) * 100).toFixed(0)} % | ${later.length ? `${(mean(later) * 100).toFixed(0)} %, ${later.length}` : '–'} |`);
  }
  const all = [...byGroup.values()].flat();
  const allLater = all.map((x) => x.laterRatio).filter((x): x is number => x !== null);
  lines.push('', `All ${all.length} live attempts: ${(mean(all.map((x) => x.ratio)) * 100).toFixed(0)} % of the cap on average, lowest ${(Math.min(...all.map((x) => x.ratio)) * 100).toFixed(0)} %; after the first pass (${allLater.length} attempts): ${(mean(allLater) * 100).toFixed(0)} %.`);
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
