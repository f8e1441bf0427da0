/**
 * The report's service section on rows whose answers are known: the four downtimes per key set,
 * how each cheaper figure stands against the clients', where the longest gap began, and one
 * trial's request series read back from the results store and binned.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flattenRow } from '../analysis/flatten.js';
import { syntheticRow } from '../analysis/synthetic.js';
import { appBlocks, appGroups, cheaperMeasures, parseRequestsCsv, pickAppTrials, readAppSeries } from '../analysis/app-report.js';
import { appDowntime, gapPhase, type AppRequest } from '../analysis/app-latency.js';
import { requestsCsv } from '../activities/service-activities.js';
import { ResultsStore } from '../results/store.js';
import { stubApp, serviceLoad } from './helpers/trial-stubs.js';
import type { TrialRow } from '../workflows/trial-types.js';

const manifest = { campaign: 'c', trials: [], hypervisor: 'qemu' };
const marks = { startedAt: 10_000, pausedAt: 12_000, resumedAt: 12_050 };

/** A moved service trial: the clients' gap `appMs` beginning at `gapAt`, the hypervisor's `qemuMs`, the probe's `probeMs`, a 1 s reading `coarseMs`. */
function serviceRow(id: string, keySetMiB: number, o: { appMs: number; gapAt: number; qemuMs: number; probeMs: number; coarseMs: number; lagMs: number }): TrialRow {
  const row = syntheticRow({ trialId: id, workingSetMiB: keySetMiB, end: 'precopy', dtMs: o.probeMs, dtQemuMs: o.qemuMs });
  const app = stubApp({ ...serviceLoad(), keySetMiB }, 'memcached 1.6.18', marks);
  return {
    ...row,
    metrics: { ...row.metrics!, downtime: { ...row.metrics!.downtime, probeMs: o.probeMs, qemuMs: o.qemuMs, guestClockLagMs: o.lagMs } },
    probe: { intervalMs: 10, sent: 100, replies: 90, lost: 10, largestGapMs: o.probeMs + 10, gapStartedAt: o.gapAt / 1000, downtimeMs: o.probeMs, coarse: { intervalMs: 1000, downtimeMs: { mean: o.coarseMs, min: 0, max: 1000 } } },
    app: { ...app, downtime: { ...app.downtime, longestGapMs: o.appMs, gapStartedAt: o.gapAt } },
  };
}

const rows = [
  // the clients' longest gap early in precopy (300 ms), the switchover's shorter: the hypervisor says 30
  serviceRow('c/memcached/16MiB/r1', 16, { appMs: 300, gapAt: 10_700, qemuMs: 30, probeMs: 290, coarseMs: 640, lagMs: -10 }),
  serviceRow('c/memcached/16MiB/r2', 16, { appMs: 320, gapAt: 10_650, qemuMs: 40, probeMs: 330, coarseMs: 300, lagMs: 5 }),
  // the gap at the switchover, 50 ms before the computed pause
  serviceRow('c/memcached/64MiB/r1', 64, { appMs: 500, gapAt: 11_950, qemuMs: 450, probeMs: 505, coarseMs: 1000, lagMs: 480 }),
];
const flat = rows.map((r) => flattenRow(r, manifest));

describe("the service section's tables", () => {
  it('where a gap began: before, in precopy, at the switchover (100 ms either side of the pause and resume), after', () => {
    expect(gapPhase(9_000, marks)).toBe('before');
    expect(gapPhase(9_950, marks)).toBe('precopy'); // within the slack of the start: the move had begun
    expect(gapPhase(10_700, marks)).toBe('precopy');
    expect(gapPhase(11_950, marks)).toBe('switchover');
    expect(gapPhase(12_120, marks)).toBe('switchover');
    expect(gapPhase(12_200, marks)).toBe('after');
    expect(gapPhase(null, marks)).toBeNull();
    expect(gapPhase(11_000, null)).toBeNull();
    // with the migrate command's time: a gap while the migration was being set up on both hosts
    expect(gapPhase(9_500, { ...marks, commandAt: 9_300 })).toBe('preparing');
    expect(gapPhase(9_100, { ...marks, commandAt: 9_300 })).toBe('before');
  });

  it('flattens the clients\' figures, with where the gap began relative to the start and the pause', () => {
    expect(flat[0]).toMatchObject({ appService: 'memcached', appDowntimeMs: 300, appGapPhase: 'precopy', appGapAfterStartMs: 700, appGapAfterPauseMs: -1300, dtProbe1sMs: 640, appP50SwitchoverMs: 90 });
    expect(flat[2]).toMatchObject({ appGapPhase: 'switchover', appGapAfterPauseMs: -50 });
  });

  it('puts the four downtimes side by side per key set (means)', () => {
    const g = appGroups(flat);
    expect(g.map((x) => [x.keySetMiB, x.n, x.appMs, x.hypervisorMs, x.ping10Ms, x.ping1sMs, x.guestClockMs, x.gapPhases])).toEqual([
      [16, 2, 310, 35, 310, 470, -2.5, 'precopy 2'],
      [64, 1, 500, 450, 505, 1000, 480, 'switchover 1'],
    ]);
  });

  it('says how far each cheaper figure under- or over-states the clients\' downtime (20 ms either side is close)', () => {
    const c = cheaperMeasures(flat);
    const by = Object.fromEntries(c.map((x) => [x.measure.split(' (')[0], x]));
    // the hypervisor: 30 vs 300, 40 vs 320, 450 vs 500 → all three under
    expect(by["the hypervisor's own figure"]).toMatchObject({ n: 3, under: 3, over: 0, close: 0, medianDiffMs: -270 });
    // ping 10 ms: −10, +10, +5 → all close
    expect(by['ping every 10 ms']).toMatchObject({ n: 3, under: 0, over: 0, close: 3, medianDiffMs: 5 });
    // ping 1 s: +340, −20 (close), +500
    expect(by['ping every 1 s']).toMatchObject({ under: 0, over: 2, close: 1 });
    // the guest clock: −10 vs 300, 5 vs 320 under; 480 vs 500 close
    expect(by["the guest clock's lag"]).toMatchObject({ under: 2, close: 1 });
    const text = appBlocks(flat)[0]!;
    expect(text.kind === 'text' && text.text).toMatch(/^3 service trials moved live\. .*began precopy in 2, switchover in 1/);
    // the two early gaps (700 and 650 ms after the start: 300 and 320 ms long)
    expect(text.kind === 'text' && text.text).toMatch(/In 2 of them it began within 1 s of the migration's own start: there the gap's median is 310 ms/);
  });

  it('sets offline moves apart: their hypervisor figure is not compared, their clients\' outage is set against the probe\'s', () => {
    const off = syntheticRow({ trialId: 'c/memcached/32MiB/r1', workingSetMiB: 32, end: 'offline', dtMs: 40_000, dtQemuMs: 7 });
    const withApp = { ...off, app: { ...stubApp({ ...serviceLoad(), keySetMiB: 32 }, 'memcached 1.6.18', marks), downtime: { ...stubApp(serviceLoad(), 'v', marks).downtime, longestGapMs: 48_000 } } };
    const all = [...flat, flattenRow(withApp, manifest)];
    // the cheaper table is over the three live moves only
    expect(cheaperMeasures(all).map((c) => c.n)).toEqual([3, 3, 3, 3]);
    const text = appBlocks(all)[0]!;
    expect(text.kind === 'text' && text.text).toMatch(/ 1 moved offline \(paused for the whole copy\): the clients' outage exceeded the 10 ms probe's by a median 8000 ms/);
  });

  it('has no section when no service trial moved', () => {
    const plain = [flattenRow(syntheticRow({ trialId: 'c/ramp/8MiB/r1', workingSetMiB: 8, end: 'precopy' }), manifest)];
    expect(appGroups(plain)).toEqual([]);
    expect(appBlocks(plain)[0]).toMatchObject({ kind: 'text', text: expect.stringMatching(/^No service trial moved/) });
  });
});

describe("one trial's request series", () => {
  const dir = mkdtempSync(join(tmpdir(), 'miglab-app-series-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through its CSV: op, due, sent and reply times (to the µs), ok; anything else is not one', () => {
    const requests: AppRequest[] = [
      { dueAt: 1_796_121_476_294.5107, sentAt: 1_796_121_476_294.7357, doneAt: 1_796_121_476_299.9077, ok: true },
      { dueAt: 1_796_121_476_295.5107, sentAt: 1_796_121_476_295.6, doneAt: null, ok: false, op: 'set' },
    ];
    const back = parseRequestsCsv(requestsCsv(requests))!;
    expect(back.map((r) => [r.op, r.ok, r.doneAt === null])).toEqual([[undefined, true, false], ['set', false, true]]);
    for (const [i, r] of back.entries()) {
      expect(r.dueAt).toBeCloseTo(requests[i]!.dueAt, 3);
      expect(r.sentAt).toBeCloseTo(requests[i]!.sentAt, 3);
      if (r.doneAt !== null) expect(r.doneAt).toBeCloseTo(requests[i]!.doneAt!, 3);
    }
    expect(parseRequestsCsv('dueMs,ok\n1,1\n')).toBeNull();
  });

  it('is read back from the store, binned by due time around the move, failures counted; the figure picks the largest key set that moved live', async () => {
    // 1000 requests/s from 3 s before precopy; nothing answered for 300 ms from the pause
    const requests: AppRequest[] = [];
    for (let i = 0; i < 9000; i++) {
      const due = 7_000 + i;
      const stalled = due >= marks.pausedAt && due < marks.pausedAt + 300;
      requests.push({ dueAt: due, sentAt: due, doneAt: stalled ? null : due + 2, ok: !stalled });
    }
    const row = rows[2]!;
    await new ResultsStore(dir).writeRaw(row.trialId, 'trial', 'app-requests.csv', requestsCsv(requests));
    const s = (await readAppSeries(dir, row, 100))!;
    expect(s.marks).toEqual({ pausedS: 2, resumedS: 2.05 });
    // from 2 s before precopy to 3 s after the resume
    expect(s.bins[0]!.timeS).toBe(-2);
    expect(s.bins.at(-1)!.timeS).toBeCloseTo(5, 6);
    const at = (t: number) => s.bins.find((b) => Math.abs(b.timeS - t) < 1e-9)!;
    expect(at(2)).toEqual({ timeS: 2, p50Ms: null, maxMs: null, failed: 100 });
    expect(at(2.3)).toEqual({ timeS: 2.3, p50Ms: 2, maxMs: 2, failed: 0 });
    expect(await readAppSeries(dir, rows[0]!)).toBeNull(); // no series recorded for it
    expect(pickAppTrials(rows).map((r) => r.trialId)).toEqual(['c/memcached/64MiB/r1']);
  });
});

describe('a series recorded on the bed (memcached, 16 MiB key set, 1000 requests/s, half SETs; QEMU 7.2 under TCG)', () => {
  // test/fixtures/app/memcached-16MiB-tcg.csv.gz: every request of one trial. Its move, from the
  // trial's polls: QEMU's migration started 712 ms after the migrate command, with setup-time
  // 281 ms, total-time 1665 ms, downtime 30 ms.
  const t0 = 1796121476294.5107;
  const commandAt = 1796121479117;
  const startedAt = commandAt + 712;
  const marks = { commandAt, startedAt, pausedAt: startedAt + 1665 - 30, resumedAt: startedAt + 1665 };
  const requests = parseRequestsCsv(gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures', 'app', 'memcached-16MiB-tcg.csv.gz'))).toString('utf8'))!;

  it("reduces to what an independent reading of the file gives (sorted reply times' largest gap, edges included: 296.502 ms from 3523.474 ms; 10528 requests, 5264 SETs, sends at most 24.402 ms late)", () => {
    const d = appDowntime(requests, marks, { ratePerS: 1000 });
    expect(d).toMatchObject({ requests: 10528, failed: 0, timedOut: 0 });
    expect(requests.filter((r) => r.op === 'set')).toHaveLength(5264);
    expect(d.longestGapMs).toBeCloseTo(296.502, 2);
    expect(d.gapStartedAt! - t0).toBeCloseTo(3523.474, 2);
    expect(d.maxSendLagMs).toBeCloseTo(24.402, 2);
    // the clients' stall is at the start of the move, its length QEMU's setup time, not at the pause
    expect(gapPhase(d.gapStartedAt, marks)).toBe('precopy');
    expect(d.gapStartedAt! - startedAt).toBeCloseTo(-11, 0);
    expect(d.latencyMs.before.p99!).toBeLessThan(10);
    expect(d.latencyMs.precopy.p99!).toBeGreaterThan(250);
  });
});

describe('a series recorded on the bed across an offline move (memcached, 2 MiB key set, 1000 requests/s; TCG)', () => {
  // test/fixtures/app/memcached-2MiB-offline-tcg.csv.gz: the requests due from 2 s before the
  // clients' longest gap to 2 s after it, of services/memcached/2MiB/r1 (campaigns/services.yaml,
  // 2026-12-01): live attempts gave up, the offline move paused the guest for 39.4 s, and the ping
  // probe's outage was 39669 ms. Expected values: an independent reading of the file (sorted
  // reply times' largest gap with the edges; requests with no reply; sent − due).
  const t0 = 1796123074528.5667;
  const marks = { commandAt: t0 + 4317.433, startedAt: t0 + 5143.433, pausedAt: t0 + 102050.433, resumedAt: t0 + 141445.433 };
  const requests = parseRequestsCsv(gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures', 'app', 'memcached-2MiB-offline-tcg.csv.gz'))).toString('utf8'))!;

  it('a stall far longer than the request timeout: every request due in it timed out, the gap runs until the clients were answered again', () => {
    const d = appDowntime(requests, marks, { ratePerS: 1000 });
    expect(d).toMatchObject({ requests: 50228, failed: 48250, timedOut: 48250 });
    expect(d.longestGapMs).toBeCloseTo(48227.817, 2);
    expect(d.gapStartedAt! - t0).toBeCloseTo(102040.183, 2);
    expect(gapPhase(d.gapStartedAt, marks)).toBe('switchover');
    // 8.5 s longer than the probe's outage of the same move
    expect(d.longestGapMs - 39669).toBeGreaterThan(8000);
  });

  it('a client that fell behind its schedule during the stall, and still sent it whole (open loop): lag up to 591.95 ms, 8400 sends over 1 ms late', () => {
    const d = appDowntime(requests, marks, { ratePerS: 1000 });
    expect(d.maxSendLagMs).toBeCloseTo(591.95, 2);
    expect(d.lateSends).toBe(8400);
    // one request a millisecond went out all through the 48 s stall
    const inStall = requests.filter((r) => r.dueAt > d.gapStartedAt! && r.dueAt < d.gapStartedAt! + d.longestGapMs);
    expect(inStall).toHaveLength(48227);
  });
});
