/**
 * `miglab report` on results recorded by real bed runs (test/fixtures/results: the first full paper
 * run, 27 trials, and the second run as it stood when interrupted, 10 of 27), and its refusals of
 * missing or damaged results.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCampaignResults } from '../analysis/load.js';
import { writeReport } from '../analysis/report.js';
import { TRIAL_COLUMNS } from '../analysis/flatten.js';
import { syntheticRow } from '../analysis/synthetic.js';
import { pickTraceTrial, readTrace } from '../analysis/trace.js';
import { UserError } from '../lib/errors.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

const FIX = join(import.meta.dirname, 'fixtures', 'results');
const RUN1 = join(FIX, 'paper-run1');
const PARTIAL = join(FIX, 'paper-run2-partial');
/** the third run, with the guest check: 14 of 27 guests lost after the move, one QEMU total-time of 0 */
const RUN3 = join(FIX, 'paper-run3');
/** the fourth run, after the TCG dirty-tracking fix: every guest arrives whole and the cliff shows */
const RUN4 = join(FIX, 'paper-run4');
/** the same campaign through libvirt (virsh, one libvirtd per bed host), trials and polls only */
const LIBVIRT1 = join(FIX, 'paper-libvirt-run1');
/** the campaign on the bed's Xen hosts (xl), stopped after two trials: the baseline moved live, the 4 MiB trial lost to dom0 crashes */
const XEN_PARTIAL = join(FIX, 'paper-xen-partial');
const XEN_RUN2 = join(FIX, 'paper-xen-run2');
/** the third Xen paper run (2026-12-02, eager-fpu): every trial moved live on its first attempt */
const XEN_RUN3 = join(FIX, 'paper-xen-run3');
/** the fifth run (miglab 0.4): every trial predicted its migration before it started; trials and polls only */
const RUN5 = join(FIX, 'paper-run5-model');
const tmp: string[] = [];
const scratch = async () => {
  const d = await mkdtemp(join(tmpdir(), 'miglab-report-'));
  tmp.push(d);
  return d;
};
afterAll(async () => Promise.all(tmp.map((d) => rm(d, { recursive: true, force: true }))));

/** Mean of one metric over the trial files of a group, read straight from the JSON (independent of the analysis code). */
async function meanFromFiles(dir: string, prefix: string, pick: (row: TrialRow) => number): Promise<number> {
  const names = (await readdir(join(dir, 'trials'))).filter((n) => decodeURIComponent(n).startsWith(prefix));
  const xs = await Promise.all(names.map(async (n) => pick((JSON.parse(await readFile(join(dir, 'trials', n), 'utf8')) as { row: TrialRow }).row)));
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

describe('report on a recorded paper run', () => {
  it('shows an interval cut at 0 as its two ends, says which intervals are cut, and what provenance an old run lacks', async () => {
    const c = await loadCampaignResults(RUN4);
    const r = await writeReport([c], await scratch());
    const md = await readFile(join(r.outDir, 'report.md'), 'utf8');
    // the baseline's hypervisor-reported DT: 23.3 ms mean, its t interval reaches below 0
    expect(md).toContain('| qemu | baseline | idle | live | 3 | 1044 ±104 (1037) |');
    expect(md).toContain('23.3 [0–56.4] (20.0)');
    expect(md).toContain('where the interval reached below 0 it is cut there and shown as [0–upper]');
    expect(md).toContain('paper: no provenance recorded (its manifest was written before miglab 0.3).');
    const baseline = r.data.summary.find((x) => x.scenario === 'baseline')!;
    expect(baseline.dtQemuMs).toMatchObject({ ciLo: 0, ciCut: true });
  });

  it('writes trials, the summary and every poll as Arrow files a data frame library reads in one call', async () => {
    const c = await loadCampaignResults(RUN4);
    const r = await writeReport([c], await scratch());
    const read = async (f: string) => aq.fromArrow(await readFile(join(r.outDir, f)));
    const trials = await read('trials.arrow');
    expect(trials.numRows()).toBe(27);
    expect(trials.columnNames()).toEqual(TRIAL_COLUMNS);
    const first = r.data.flat[0]!;
    expect(trials.get('trialId', 0)).toBe(first.trialId);
    expect(trials.get('tmtMs', 0)).toBe(first.tmtMs);
    expect((await read('summary.arrow')).numRows()).toBe(r.data.summary.length);
    // every poll line of every attempt's raw series, counted straight from the files
    let lines = 0;
    for (const t of await readdir(join(RUN4, 'raw'))) {
      for (const a of (await readdir(join(RUN4, 'raw', t))).filter((d) => d.startsWith('attempt-'))) {
        lines += (await readFile(join(RUN4, 'raw', t, a, 'query-migrate.jsonl'), 'utf8')).split('\n').filter((l) => l.trim()).length;
      }
    }
    const polls = await read('polls.arrow');
    expect(polls.numRows()).toBe(lines);
    expect(polls.columnNames().slice(0, 4)).toEqual(['trialId', 'attempt', 't', 'status']);
  });

  it('writes the header row of a table with no rows (failures.csv of a run without failures)', async () => {
    const c = await loadCampaignResults(RUN4);
    const r = await writeReport([c], await scratch());
    expect(await readFile(join(r.outDir, 'failures.csv'), 'utf8')).toBe('hypervisor,reason,count,trials\n');
    // the header an empty trials.csv would get is the one a full one has
    expect((await readFile(join(r.outDir, 'trials.csv'), 'utf8')).split('\n')[0]).toBe(TRIAL_COLUMNS.join(','));
  });

  it('lists trials in the campaign order with working sets sorted as numbers, in every table (4 MiB before 16 MiB)', async () => {
    const c = await loadCampaignResults(RUN4);
    const r = await writeReport([c], await scratch());
    for (const file of ['trials.csv', 'memory.csv']) {
      const lines = (await readFile(join(r.outDir, file), 'utf8')).trim().split('\n').slice(1);
      const ids = lines.map((l) => l.split(',')[0]!);
      expect(ids.length, file).toBeGreaterThan(20);
      // paper/<scenario>/<size>/r<k>: scenarios as the campaign lists them, sizes and repetitions ascending
      const key = (id: string) => {
        const [, scenario, size, rep] = id.split('/');
        return [scenario === 'baseline' ? 0 : 1, size === 'idle' ? -1 : parseInt(size!, 10), parseInt(rep!.slice(1), 10)];
      };
      const sorted = [...ids].sort((a, b) => key(a).reduce((d, v, k) => d || v - key(b)[k]!, 0));
      expect(ids, file).toEqual(sorted);
      expect(ids.indexOf('paper/dirty-ramp/4MiB/r1'), file).toBeLessThan(ids.indexOf('paper/dirty-ramp/16MiB/r1'));
    }
  });

  it('loads all 27 trials, complete, and finds no cliff up to 64 MiB against a predicted 33.6 MiB', async () => {
    const out = await scratch();
    const c = await loadCampaignResults(RUN1);
    expect(c.rows).toHaveLength(27);
    expect(c.missing).toEqual([]);
    const r = await writeReport([c], out);
    expect(r.data.cliffs).toHaveLength(1);
    expect(r.data.cliffs[0]).toMatchObject({ predictedMiB: expect.closeTo(33.6, 6), measuredMiB: null, largestTriedMiB: 64 });
    const baseline = r.data.summary.find((s) => s.scenario === 'baseline')!;
    expect(baseline.tmtMs.mean).toBeCloseTo(await meanFromFiles(RUN1, 'paper/baseline/', (row) => row.metrics!.tmtMs), 9);
    const ws64 = r.data.summary.find((s) => s.workingSetMiB === 64)!;
    expect(ws64.mdMiB.mean).toBeCloseTo(await meanFromFiles(RUN1, 'paper/dirty-ramp/64MiB/', (row) => row.metrics!.md.totalBytes / 2 ** 20), 9);

    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('27 of 27 trials recorded — complete');
    expect(md).toMatch(/\| qemu \| dirty-ramp \| 112\.0 \| 300 \| 33\.6 \| none up to 64 MiB \|/);
    for (const f of ['fig3-mtMs', 'fig4-dtMs', 'fig5-tmtMs', 'fig6-mtMs', 'fig7-mdMiB', 'fig8-dtMs', 'fig9-trace']) {
      expect(md).toContain(`(figures/${f}.svg)`);
      expect(await readFile(join(out, 'figures', `${f}.svg`), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    }
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(7); // self-contained: every figure inline
    expect(html).not.toMatch(/<img|src="http/);
    const csv = (await readFile(join(out, 'trials.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(28);
    expect(csv[0]).toContain('tmtMs');
    expect((await readFile(join(out, 'summary.csv'), 'utf8')).trim().split('\n')).toHaveLength(1 + 9);
  });

  it('reports a campaign that stopped part-way as incomplete, with its failure', async () => {
    const out = await scratch();
    const c = await loadCampaignResults(PARTIAL);
    expect(c.rows).toHaveLength(10);
    expect(c.missing).toHaveLength(17);
    const r = await writeReport([c], out);
    expect(r.data.failures).toEqual([{ hypervisor: 'qemu', reason: expect.stringContaining('EHOSTUNREACH'), count: 1, trials: ['paper/dirty-ramp/4MiB/r1'] }]);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('10 of 27 trials recorded — INCOMPLETE: 17 trial(s) not recorded yet');
  });

  it('counts guests lost after a converged migration as failures, not as a cliff, and leaves an impossible TMT out', async () => {
    const c = await loadCampaignResults(RUN3);
    expect(c.manifest.trials).toHaveLength(27);
    const r = await writeReport([c], await scratch());
    expect(r.data.failures).toHaveLength(1);
    expect(r.data.failures[0]).toMatchObject({ count: 14, reason: expect.stringContaining('EHOSTUNREACH') });
    expect(r.data.cliffs[0]).toMatchObject({ measuredMiB: null }); // every first attempt converged
    expect(r.data.outcomes.find((o) => o.workingSetMiB === 64)).toMatchObject({ trials: 3, precopy: 0, failed: 3 });
    const ws40 = r.data.summary.find((s) => s.workingSetMiB === 40)!;
    expect(ws40.tmtMs.n).toBe(0); // QEMU said total-time 0 for the one survivor
    expect(ws40.dtMs.n).toBe(1);
    const ws8 = r.data.summary.find((s) => s.workingSetMiB === 8)!;
    expect(ws8.throughputMiBps.mean!).toBeLessThan(200); // not 35,206 MiB/s from a 2.7 ms MT
    // recorded before the workload counted lost writes: the report says so rather than claiming integrity
    expect(r.data.integrity).toEqual({ checked: 0, lost: [] });
    expect(await readFile(join(r.outDir, 'report.md'), 'utf8')).toContain('Guest memory integrity: not checked');
  });

  it('finds the cliff in the fourth run between 32 and 40 MiB, where the ladder took over, with every guest arriving whole', async () => {
    const c = await loadCampaignResults(RUN4);
    const r = await writeReport([c], await scratch());
    expect(r.data.cliffs[0]).toMatchObject({ predictedMiB: expect.closeTo(33.6, 1), measuredMiB: 40, belowMiB: 32 });
    for (const ws of [40, 48, 64]) expect(r.data.outcomes.find((o) => o.workingSetMiB === ws)).toMatchObject({ trials: 3, precopy: 0, ladder: { 'downtime limit 1000 ms': 3 }, failed: 0 });
    expect(r.data.integrity).toEqual({ checked: 24, lost: [] });
    expect(r.data.failures).toEqual([]);
    // MD grows with the working set among the sizes precopy moved, as the paper's Fig. 7 does
    const md = (ws: number) => r.data.summary.find((s) => s.workingSetMiB === ws)!.mdMiB.mean!;
    expect(md(4)).toBeLessThan(md(16));
    expect(md(16)).toBeLessThan(md(32));
  });

  it('puts QEMU-direct and libvirt side by side: the same cliff, and libvirt\'s own downtimes labelled as such', async () => {
    const r = await writeReport([await loadCampaignResults(RUN4), await loadCampaignResults(LIBVIRT1)], await scratch());
    expect(r.data.cliffs.map((c) => [c.hypervisor, c.measuredMiB, c.belowMiB])).toEqual(expect.arrayContaining([['qemu', 40, 32], ['libvirt', 40, 32]]));
    expect(r.data.integrity).toEqual({ checked: 48, lost: [] });
    const lvBase = r.data.summary.find((s) => s.hypervisor === 'libvirt' && s.scenario === 'baseline')!;
    expect(lvBase.trials).toBe(3);
    expect(lvBase.dtQemuMs.mean).toBeCloseTo(await meanFromFiles(LIBVIRT1, 'paper-libvirt/baseline/', (row) => row.metrics!.downtime.qemuMs!), 9);
    const flat = await readFile(join(r.outDir, 'trials.csv'), 'utf8');
    const [head, ...lines] = flat.trim().split('\n');
    const col = (name: string) => head!.split(',').indexOf(name);
    const lv = lines.filter((l) => l.split(',')[col('hypervisor')] === 'libvirt');
    expect(lv).toHaveLength(27);
    for (const l of lv) {
      const cells = l.split(',');
      expect(cells[col('dtReportedBy')]).toBe('libvirt');
      expect(Number(cells[col('dtLibvirtNetMs')])).toBeLessThanOrEqual(Number(cells[col('dtQemuMs')]));
    }
    expect(await readFile(join(r.outDir, 'report.md'), 'utf8')).toContain('DT hypervisor-reported');
  });

  it('puts KVM (QEMU) and Xen side by side, the Xen rows labelled as measured from outside', async () => {
    const r = await writeReport([await loadCampaignResults(RUN4), await loadCampaignResults(XEN_PARTIAL)], await scratch());
    const base = (h: string) => r.data.summary.find((s) => s.hypervisor === h && s.scenario === 'baseline' && s.mode === 'live')!;
    expect(base('qemu').trials).toBe(3);
    expect(base('xen').trials).toBe(1);
    // xl reports no downtime: the hypervisor column is empty for Xen, DT is the probe's
    expect(base('xen').dtQemuMs.mean).toBeNull();
    expect(base('xen').dtMs.mean).toBeCloseTo(await meanFromFiles(XEN_PARTIAL, 'paper-xen/baseline/', (row) => row.metrics!.downtime.probeMs!), 9);
    expect(r.data.failures.map((f) => f.hypervisor)).toEqual(['xen']);
    // xl applies no cap or limit: no predicted cliff for Xen, QEMU's stays
    expect(r.data.cliffs.map((c) => [c.hypervisor, c.predictedMiB === null])).toEqual(expect.arrayContaining([['qemu', false], ['xen', true]]));
    const flat = await readFile(join(r.outDir, 'trials.csv'), 'utf8');
    const [head, ...lines] = flat.trim().split('\n');
    const col = (name: string) => head!.split(',').indexOf(name);
    const xen = lines.map((l) => l.split(',')).filter((c) => c[col('hypervisor')] === 'xen');
    expect(xen).toHaveLength(2);
    const live = xen.find((c) => c[col('mode')] === 'live')!;
    expect([live[col('tmtSource')], live[col('dtReportedBy')], live[col('mdSource')], live[col('dtQemuMs')]]).toEqual(['dom0-clock', 'none', 'interface-counter', '']);
    for (const c of lines.map((l) => l.split(',')).filter((x) => x[col('hypervisor')] === 'qemu' && x[col('mode')] !== 'none')) expect(c[col('mdSource')]).toBe('hypervisor');
    // the paper's baseline figures have a bar per hypervisor
    const fig = await readFile(join(r.outDir, 'figures', 'fig5-tmtMs.svg'), 'utf8');
    expect(fig).toContain('>qemu<');
    expect(fig).toContain('>xen<');
    expect(await readFile(join(r.outDir, 'report.md'), 'utf8')).toContain('measured from outside');
  });

  it('on the whole Xen paper run (every ramp live migration died on the nested bed): 9 trials, offline and failed rows, and a cliff it says was not measured', async () => {
    const xen = await loadCampaignResults(XEN_RUN2);
    expect(xen.rows).toHaveLength(9);
    expect(xen.missing).toEqual([]);
    const r = await writeReport([await loadCampaignResults(RUN4), xen], await scratch());
    const x = r.data.cliffs.find((c) => c.hypervisor === 'xen')!;
    expect(x.measuredMiB).toBeNull();
    expect(x.perSize.every((p) => p.informative === 0)).toBe(true);
    const md = await readFile(join(r.outDir, 'report.md'), 'utf8');
    expect(md).toContain('| xen | dirty-ramp |');
    expect(md).toContain('not measured (every first attempt failed on an error)');
    // the offline rows' MD is the save image, their TMT and DT the same outage seen two ways
    const offline = r.data.summary.filter((s) => s.hypervisor === 'xen' && s.scenario === 'dirty-ramp' && s.trials > 0 && s.tmtMs.mean !== null);
    expect(offline.length).toBeGreaterThan(0);
  });

  it("on the Xen paper run whose every ramp size moved live: the downtime grows with the working set, as the paper's Xen did, beside QEMU's", async () => {
    const xen = await loadCampaignResults(XEN_RUN3);
    expect(xen.rows).toHaveLength(9);
    const r = await writeReport([await loadCampaignResults(RUN4), xen], await scratch());
    expect(r.data.outcomes.filter((o) => o.hypervisor === 'xen').map((o) => [o.workingSetMiB, o.precopy])).toEqual([[null, 1], [4, 1], [8, 1], [16, 1], [24, 1], [32, 1], [40, 1], [48, 1], [64, 1]]);
    // the probe's DT of the 4 and 64 MiB trials, read straight from their files: 3.7 s and 22.8 s
    const dt = (ws: number) => meanFromFiles(XEN_RUN3, `paper-xen/dirty-ramp/${ws}MiB/`, (row) => row.metrics!.dtMs!);
    expect(await dt(4)).toBeCloseTo(3672.0, 0);
    expect(await dt(64)).toBeCloseTo(22847.6, 0);
    const md = await readFile(join(r.outDir, 'report.md'), 'utf8');
    expect(md).toMatch(/xen \(dirty-ramp\): DT grows with the working set \(\+\d+\.\d ms per MiB \[\d+\.\d, \d+\.\d\], Spearman ρ 0\.9\d, 8 live moves over 8 working sets\)/);
    expect(md).toContain('| xen | dirty-ramp | DT | 8 (8) |');
    expect(r.data.cliffs.find((c) => c.hypervisor === 'xen')!.perSize.map((p) => p.converged)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('names the trials whose guest found lost writes after the move', async () => {
    const d = await scratch();
    await cp(RUN1, d, { recursive: true });
    const names = (await readdir(join(d, 'trials'))).filter((n) => decodeURIComponent(n).includes('/16MiB/')).sort();
    expect(names).toHaveLength(3);
    const stale = [0, 37, 0];
    const ids: string[] = [];
    for (const [i, n] of names.entries()) {
      const file = join(d, 'trials', n);
      const rec = JSON.parse(await readFile(file, 'utf8')) as { row: TrialRow };
      rec.row.integrity = { staleWrites: stale[i]!, writesAfterMove: 4096, fullPass: true };
      ids.push(rec.row.trialId);
      await writeFile(file, JSON.stringify(rec));
    }
    const r = await writeReport([await loadCampaignResults(d)], await scratch());
    expect(r.data.integrity).toEqual({ checked: 3, lost: [{ trialId: ids[1], hypervisor: expect.any(String), staleWrites: 37 }] });
    expect(await readFile(join(r.outDir, 'report.md'), 'utf8')).toContain(`1 of 3 checked trials arrived with lost writes (stale pages the hypervisor did not resend): ${ids[1]} (37)`);
  });

  it('puts several campaigns side by side, each under a label of its own', async () => {
    const runs = [await loadCampaignResults(RUN1), await loadCampaignResults(RUN3)];
    const r = await writeReport(runs, await scratch());
    // both are campaign "paper" on qemu: the directory tells them apart
    expect([...new Set(r.data.flat.map((f) => f.hypervisor))]).toEqual(['qemu (paper-run1)', 'qemu (paper-run3)']);
    expect(r.data.cliffs.map((c) => c.hypervisor)).toEqual(['qemu (paper-run1)', 'qemu (paper-run3)']);
    const baseline = r.data.summary.filter((s) => s.workingSetMiB === null);
    expect(baseline.map((s) => [s.hypervisor, s.trials])).toEqual([['qemu (paper-run1)', 3], ['qemu (paper-run3)', 3]]);
  });

  it("compares each trial's recorded prediction with what happened: verdicts, the error table, the model's cliff, model.csv, the trace's predicted passes", async () => {
    const c = await loadCampaignResults(RUN5);
    const r = await writeReport([c], await scratch());
    // the expectations, computed here from the rows themselves
    const label = (kind: string, attempt: number | null | undefined) => (kind === 'converged' ? `attempt ${attempt}` : kind);
    const rows = c.rows.filter((x) => x.prediction);
    expect(rows).toHaveLength(27);
    const right = rows.filter((x) => label(x.prediction!.result.verdict, x.prediction!.result.attempt) === label(x.outcome.kind, x.outcome.kind === 'converged' ? x.outcome.attempt : null));
    expect(r.data.fit).toMatchObject({ predicted: 27, verdictsOf: 27, verdictsRight: right.length });
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const tmtErr = right.map((x) => Math.abs(x.prediction!.result.tmtMs! - x.metrics!.tmtMs) / x.metrics!.tmtMs);
    const mdErr = right.map((x) => Math.abs(x.prediction!.result.mdBytes! - x.metrics!.md.totalBytes) / x.metrics!.md.totalBytes);
    const dtErr = right.map((x) => Math.abs(x.prediction!.result.dtMs! - x.metrics!.downtime.qemuMs!) / x.metrics!.downtime.qemuMs!);
    const [tmt, md, dt] = r.data.fit.errors;
    expect(tmt!.medianAbs).toBeCloseTo(median(tmtErr), 9);
    expect(md!.medianAbs).toBeCloseTo(median(mdErr), 9);
    expect(dt!.medianAbs).toBeCloseTo(median(dtErr), 9);
    // the model's cliff is bandwidth × downtime limit, lowered by the idle guest's dirtying
    expect(r.data.fit.cliffs[0]!.modelMiB).toBeLessThanOrEqual(33.6);
    const md_ = await readFile(join(r.outDir, 'report.md'), 'utf8');
    expect(md_).toContain('## The model: predicted before each trial, then measured');
    expect(md_).toContain(`right for ${right.length} of 27`);
    const csv = (await readFile(join(r.outDir, 'model.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('trialId,hypervisor,workingSetMiB,predicted,measured,tmt,md,dt');
    // trials.csv carries each row's own provenance: accelerator and guest CPU model, as recorded
    const trials = (await readFile(join(r.outDir, 'trials.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => trials[0]!.indexOf(name);
    const byId = new Map(c.rows.map((x) => [x.trialId, x.provenance!.src!]));
    for (const line of trials.slice(1)) {
      const src = byId.get(line[col('trialId')]!)!;
      expect([line[col('accelerator')], line[col('guestCpu')]]).toEqual([src.accelerator, src.guestCpu]);
    }
    expect(csv).toHaveLength(1 + 27);
    // the trace of the largest trial carries the model's passes for each attempt
    const trace = (await readTrace(RUN5, pickTraceTrial(c.rows)!))!;
    const traced = pickTraceTrial(c.rows)!;
    expect(trace.predicted.length).toBe(traced.prediction!.result.attempts.filter((a) => a.index < traced.attempts.length).reduce((n, a) => n + a.passes.length + 1, 0));
  });

  it('draws the trace from the raw polls: one point per poll, a rule per new iteration', async () => {
    const c = await loadCampaignResults(RUN1);
    const row = pickTraceTrial(c.rows)!;
    expect(row.workingSetMiB).toBe(64); // nothing aborted in this run: the largest working set
    const t = (await readTrace(RUN1, row))!;
    const polls = (await readFile(join(new ResultsStore(RUN1).rawDir(row.trialId, 0), 'query-migrate.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { iterations: number });
    expect(t.points).toHaveLength(polls.length);
    const newIterations = polls.filter((p, i) => i > 0 && p.iterations > polls[i - 1]!.iterations).length;
    expect(t.events.filter((e) => e.kind === 'iteration')).toHaveLength(newIterations);
    expect(t.points[0]!.timeS).toBeGreaterThanOrEqual(0);
    expect(t.points.at(-1)!.remainingMiB).toBeLessThan(t.points[0]!.remainingMiB);
  });

  it('marks an aborted attempt and the fallback in the trace', async () => {
    const dir = await scratch();
    const store = new ResultsStore(dir);
    const row = syntheticRow({ trialId: 'x/ramp/64MiB/r1', workingSetMiB: 64, end: 'offline' });
    const poll = (t: number, it: number, rem: number) => JSON.stringify({ t, elapsedMs: t - 1000, remainingBytes: rem, iterations: it, dirtyPagesRate: 2560 });
    await store.writeRaw(row.trialId, 0, 'query-migrate.jsonl', [poll(1000, 1, 9e7), poll(1500, 2, 5e7), poll(2000, 3, 6e7)].join('\n'));
    await store.writeRaw(row.trialId, 1, 'query-migrate.jsonl', [poll(3000, 1, 2e8), poll(4000, 1, 0)].join('\n'));
    expect(pickTraceTrial([syntheticRow({ trialId: 'x/ramp/128MiB/r1', workingSetMiB: 128, end: 'precopy' }), row])!.trialId).toBe(row.trialId);
    const t = (await readTrace(dir, row))!;
    expect(t.events.map((e) => [e.kind, e.timeS])).toEqual([
      ['iteration', 0.5],
      ['iteration', 1],
      ['abort', 1],
      ['fallback', 2],
    ]);
    expect(t.points[0]!.dirtyMiBps).toBeCloseTo(10, 9); // 2560 pages/s × 4 KiB
  });
});

describe('report refuses what it cannot report truthfully', () => {
  const refusal = async (dir: string) => {
    try {
      await loadCampaignResults(dir);
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      return err as UserError;
    }
    throw new Error(`loading ${dir} did not fail`);
  };

  it('a missing directory', async () => {
    const e = await refusal(join(await scratch(), 'nope'));
    expect(e.message).toMatch(/does not exist/);
    expect(e.fix).toMatch(/miglab report campaigns\/paper.yaml/);
  });

  it('a directory that is not a results store', async () => {
    expect((await refusal(await scratch())).message).toMatch(/neither campaign.json nor trials/);
  });

  it('rows without a manifest: what was expected is unknown', async () => {
    const d = await scratch();
    await cp(join(RUN1, 'trials'), join(d, 'trials'), { recursive: true });
    const e = await refusal(d);
    expect(e.message).toMatch(/no campaign.json/);
    expect(e.fix).toMatch(/--results/);
  });

  it('a manifest and no trial recorded yet', async () => {
    const d = await scratch();
    await cp(join(RUN1, 'campaign.json'), join(d, 'campaign.json'));
    expect((await refusal(d)).message).toMatch(/no trial recorded yet/);
  });

  it('a half-written row and a row of the wrong shape, each named', async () => {
    const d = await scratch();
    await cp(RUN1, d, { recursive: true });
    const names = (await readdir(join(d, 'trials'))).sort();
    const cut = join(d, 'trials', names[0]!);
    await writeFile(cut, (await readFile(cut, 'utf8')).slice(0, 300));
    await writeFile(join(d, 'trials', names[1]!), JSON.stringify({ trialId: decodeURIComponent(names[1]!.replace(/\.json$/, '')), row: { trialId: 'other' } }));
    const e = await refusal(d);
    expect(e.message).toContain(`${names[0]}: not valid JSON`);
    expect(e.message).toContain(`${names[1]}: its row names trial "other"`);
    expect(e.message).toMatch(/^2 trial row\(s\)/);
  });

  it('a damaged manifest', async () => {
    const d = await scratch();
    await cp(RUN1, d, { recursive: true });
    await writeFile(join(d, 'campaign.json'), '{"format":');
    expect((await refusal(d)).message).toMatch(/campaign.json is damaged/);
  });

  it('rows of another campaign', async () => {
    const d = await scratch();
    await cp(RUN1, d, { recursive: true });
    await new ResultsStore(d).recordTrial('other/baseline/idle/r1', syntheticRow({ trialId: 'other/baseline/idle/r1', workingSetMiB: null, end: 'precopy' }));
    expect((await refusal(d)).message).toMatch(/does not expect: other\/baseline\/idle\/r1/);
  });
});
