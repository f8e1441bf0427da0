/**
 * Benchmark (not a test): VM reuse against a VM booted for every trial. Runs the same campaign on
 * the bed twice, back to back — first each trial boots its own VM (`vm.reuse: fresh`), then each
 * lane's VM moves there and back (`ping-pong`) — and prints each `miglab run`'s wall time, their
 * ratio, how many trials booted a VM, and the baseline's TMT, DT and MD in each mode with their
 * 95 % intervals, saying whether they overlap.
 * Usage: npm run bench:reuse [-- --hypervisor qemu|libvirt] [--repetitions N] [--paper]
 *   --paper: campaigns/paper.yaml's trials (baseline and the ramp, its ladder and fallback) instead
 *   of idle baselines, where booting is most of a trial.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { campaignYaml, type CampaignFileSpec } from '../campaign/builder.js';
import { flattenRow } from '../analysis/flatten.js';
import { loadCampaignResults } from '../analysis/load.js';
import { summarize, type Stat } from '../analysis/tables.js';
import { statePaths } from '../lib/paths.js';

const { values: args } = parseArgs({ options: { hypervisor: { type: 'string', default: 'qemu' }, repetitions: { type: 'string' }, paper: { type: 'boolean', default: false } } });
const miglabBin = fileURLToPath(new URL('../../bin/miglab.js', import.meta.url));
type Mode = 'fresh' | 'ping-pong';

const paperFile = fileURLToPath(new URL('../../campaigns/paper.yaml', import.meta.url));

/**
 * The campaign each mode runs: idle baselines, or the paper campaign's own file (so the bench
 * follows it) with only its name, hypervisor, repetitions, reuse mode and results folder set here.
 */
function campaign(name: string, mode: Mode, hypervisor: 'qemu' | 'libvirt', repetitions: number, paper: boolean): CampaignFileSpec {
  const own = { campaign: name, hypervisor, repetitions, results: 'results' };
  if (paper) {
    const spec = parse(readFileSync(paperFile, 'utf8')) as CampaignFileSpec;
    return { ...spec, ...own, vm: { ...spec.vm, reuse: mode } };
  }
  return {
    ...own, bed: 'lab', vm: { memoryMiB: 256, vcpus: 1, reuse: mode },
    scenarios: [{ name: 'baseline', kind: 'baseline' }],
    migration: { bandwidthMiBps: 112, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stall: { iterations: 10 } },
    fallback: 'offline', probe: { intervalMs: 10 },
  };
}

interface Run {
  mode: Mode;
  wallS: number;
  trials: number;
  booted: number;
  baseline: { tmtMs: Stat; dtMs: Stat; mdMiB: Stat } | undefined;
}

async function runMode(root: string, mode: Mode, hypervisor: 'qemu' | 'libvirt', repetitions: number, paper: boolean): Promise<Run> {
  const dir = join(root, mode);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'campaign.yaml');
  const name = `reuse-${mode === 'fresh' ? 'fresh' : 'pp'}-${Date.now().toString(36)}`;
  writeFileSync(file, campaignYaml(campaign(name, mode, hypervisor, repetitions, paper), `written by bench/reuse.ts: ${mode}`));
  console.error(`${mode}: miglab run ${file}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [miglabBin, 'run', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const wallS = (Date.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`miglab run ${file} exited ${r.status}`);
  const c = await loadCampaignResults(join(dir, 'results'));
  const flat = c.rows.map((row) => flattenRow(row, { ...c.manifest, hypervisor: c.manifest.hypervisor ?? hypervisor }));
  const base = summarize(flat).find((s) => s.scenario === 'baseline' && s.mode === 'live');
  return {
    mode, wallS, trials: flat.length,
    // a fresh campaign's rows carry no vm record: every trial booted its VM
    booted: flat.filter((t) => t.vmFresh !== false).length,
    baseline: base && { tmtMs: base.tmtMs, dtMs: base.dtMs, mdMiB: base.mdMiB },
  };
}

const stat = (s: Stat, digits: number) => (s.mean === null ? '–' : `${s.mean.toFixed(digits)} [${s.ciLo?.toFixed(digits) ?? '–'}, ${s.ciHi?.toFixed(digits) ?? '–'}]`);
const overlap = (a: Stat, b: Stat) => (a.ciLo === null || b.ciLo === null || a.ciHi === null || b.ciHi === null ? 'n < 2' : a.ciLo <= b.ciHi && b.ciLo <= a.ciHi ? 'overlap' : 'do not overlap');

async function main() {
  const hypervisor = args.hypervisor;
  if (hypervisor !== 'qemu' && hypervisor !== 'libvirt') throw new Error(`--hypervisor takes qemu or libvirt (Xen boots a domain for every trial), not ${hypervisor}`);
  const repetitions = Number(args.repetitions ?? (args.paper ? 3 : 12));
  if (!Number.isInteger(repetitions) || repetitions < 2) throw new Error('--repetitions wants a whole number of at least 2 (intervals need two)');
  const root = join(statePaths().root, 'bench', 'reuse', Date.now().toString(36));
  const fresh = await runMode(root, 'fresh', hypervisor, repetitions, args.paper);
  const reused = await runMode(root, 'ping-pong', hypervisor, repetitions, args.paper);
  const lines = [
    `VM reuse on the bed through ${hypervisor}: ${args.paper ? "the paper campaign's trials" : 'idle baselines'}, ${repetitions} repetitions (${root})`,
    '',
    '| mode | trials | VMs booted | wall time (s) | baseline TMT ms [95 % CI] | DT ms | MD MiB |',
    '|:---|---:|---:|---:|---:|---:|---:|',
    ...[fresh, reused].map((r) => `| ${r.mode} | ${r.trials} | ${r.booted} | ${r.wallS.toFixed(1)} | ${r.baseline ? stat(r.baseline.tmtMs, 0) : '–'} | ${r.baseline ? stat(r.baseline.dtMs, 0) : '–'} | ${r.baseline ? stat(r.baseline.mdMiB, 1) : '–'} |`),
    '',
    `Reuse took ${(reused.wallS / fresh.wallS).toFixed(2)} of the fresh campaign's wall time (${reused.wallS.toFixed(1)} s against ${fresh.wallS.toFixed(1)} s).`,
  ];
  if (fresh.baseline && reused.baseline) {
    lines.push(`Baseline intervals: TMT ${overlap(fresh.baseline.tmtMs, reused.baseline.tmtMs)}, DT ${overlap(fresh.baseline.dtMs, reused.baseline.dtMs)}, MD ${overlap(fresh.baseline.mdMiB, reused.baseline.mdMiB)}.`);
  }
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
