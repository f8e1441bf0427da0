/**
 * Benchmark (not a test): achieved migration throughput against the configured bandwidth cap.
 * Reads a recorded campaign (default: the paper run) and, for every live attempt, the bytes QEMU
 * sent while precopy was running (from the first to the last `active` poll, so neither the setup
 * nor the stop-and-copy, which QEMU does not throttle, is counted) over QEMU's own clock.
 * With --caps, first runs the same small ramp on the bed at each cap (`miglab run`), to show where
 * the cap binds and where the bed's CPUs do.
 * Usage: npm run bench:throughput [-- results-dir] | [-- --caps 16,48,112]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { campaignYaml } from '../campaign/builder.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { statePaths } from '../lib/paths.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;
const { values: args, positionals } = parseArgs({ options: { caps: { type: 'string' } }, allowPositionals: true });
const miglabBin = fileURLToPath(new URL('../../bin/miglab.js', import.meta.url));

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

interface Summary {
  lines: string[];
  mean: number;
  meanLater: number | null;
  attempts: number;
}

async function analyse(dir: string): Promise<Summary> {
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
  lines.push('', `All ${all.length} live attempts: ${(mean(all.map((x) => x.ratio)) * 100).toFixed(0)} % of the cap on average, lowest ${(Math.min(...all.map((x) => x.ratio)) * 100).toFixed(0)} %; after the first pass (${allLater.length} attempts): ${allLater.length ? `${(mean(allLater) * 100).toFixed(0)} %` : '–'}.`);
  return { lines, mean: mean(all.map((x) => x.ratio)), meanLater: allLater.length ? mean(allLater) : null, attempts: all.length };
}

/** The same small ramp at one cap on the bed: a 256 MiB guest dirtying 8, 16 and 24 MiB, once each, no ladder. */
function sweepCampaign(name: string, capMiBps: number): string {
  return campaignYaml({
    campaign: name, bed: 'lab', hypervisor: 'qemu', vm: { memoryMiB: 256, vcpus: 1 },
    scenarios: [{ name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [8, 16, 24], rate: 'max', pattern: 'seq' }],
    repetitions: 1,
    migration: { bandwidthMiBps: capMiBps, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stall: { iterations: 10 } },
    ladder: [], fallback: 'offline', probe: { intervalMs: 10 }, measure: { guest: false }, results: 'results',
  }, `written by bench/throughput.ts: the throughput sweep at ${capMiBps} MiB/s`);
}

async function main() {
  if (!args.caps) {
    console.log((await analyse(positionals[0] ?? join(statePaths().root, 'results', 'paper'))).lines.join('\n'));
    return;
  }
  const caps = args.caps.split(',').map(Number);
  if (!caps.every((c) => c > 0)) throw new Error('--caps wants MiB/s values, e.g. --caps 16,48,112');
  const root = join(statePaths().root, 'bench', 'throughput', Date.now().toString(36));
  const rows: string[] = [];
  for (const cap of caps) {
    const dir = join(root, `cap-${cap}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'campaign.yaml');
    writeFileSync(file, sweepCampaign(`tput-${cap}-${Date.now().toString(36)}`, cap));
    console.error(`cap ${cap} MiB/s: miglab run ${file}`);
    const r = spawnSync(process.execPath, [miglabBin, 'run', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`miglab run ${file} exited ${r.status}`);
    const s = await analyse(join(dir, 'results'));
    console.log(`\n## cap ${cap} MiB/s\n\n${s.lines.join('\n')}`);
    rows.push(`| ${cap} | ${s.attempts} | ${(s.mean * 100).toFixed(0)} % | ${s.meanLater === null ? '–' : `${(s.meanLater * 100).toFixed(0)} %`} |`);
  }
  console.log(['', `Throughput against the cap, by cap (${root}):`, '', '| cap MiB/s | live attempts | of cap (mean) | after the first pass (mean) |', '|---:|---:|---:|---:|', ...rows].join('\n'));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
