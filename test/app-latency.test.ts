/** The application-downtime analysis on made series whose answers are known by construction. */
import { describe, expect, it } from 'vitest';
import { appDowntime, nearestRank, type AppRequest } from '../analysis/app-latency.js';

const RATE = 1000; // requests per second: one due each ms
const marks = { startedAt: 3000, pausedAt: 5000, resumedAt: 5300 };

/** 10 s of requests, one due each ms; `reply(due, sent)` gives the reply's arrival (null: none). */
function series(o: { sent?: (due: number) => number; reply?: (due: number, sent: number) => number | null; timeoutMs?: number } = {}): AppRequest[] {
  const out: AppRequest[] = [];
  for (let due = 0; due < 10_000; due++) {
    const sentAt = o.sent?.(due) ?? due;
    let doneAt = o.reply ? o.reply(due, sentAt) : sentAt + 0.5;
    if (doneAt !== null && o.timeoutMs !== undefined && doneAt - sentAt > o.timeoutMs) doneAt = null;
    out.push({ dueAt: due, sentAt, doneAt, ok: doneAt !== null });
  }
  return out;
}

describe('application downtime from an open-loop series', () => {
  it('percentiles by nearest rank', () => {
    expect(nearestRank([1, 2, 3, 4], 0.5)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 0.99)).toBe(4);
    expect(nearestRank([], 0.5)).toBeNull();
  });

  it('a service that never stalls: no gap beyond one request, no dip, its latency in every phase', () => {
    const d = appDowntime(series(), marks, { ratePerS: RATE });
    expect(d).toMatchObject({ requests: 10_000, failed: 0, timedOut: 0, dipRequests: 0, dipSeconds: 0, maxSendLagMs: 0, lateSends: 0 });
    expect(d.longestGapMs).toBe(1);
    expect(d.latencyMs.before).toEqual({ n: 3000, p50: 0.5, p99: 0.5, p999: 0.5 });
    expect(d.latencyMs.switchover.n).toBe(300);
  });

  it('a 300 ms pause: the gap between replies, the requests due in it answered late, and 0.3 s of lost throughput', () => {
    // the server answers nothing from 5000 to 5300, then everything it was sent
    const d = appDowntime(series({ reply: (_due, sent) => (sent >= 5000 && sent < 5300 ? 5300.5 : sent + 0.5) }), marks, { ratePerS: RATE });
    expect(d.failed).toBe(0);
    expect(d.longestGapMs).toBe(301); // 4999.5 → 5300.5
    expect(d.gapStartedAt).toBe(4999.5);
    // due at 5000 waits 300.5 ms, due at 5299 waits 1.5 ms
    expect(d.latencyMs.switchover).toEqual({ n: 300, p50: 150.5, p99: 297.5, p999: 300.5 });
    expect(d.latencyMs.after.p999).toBe(0.5);
    expect(d.dipRequests).toBe(300); // three 100 ms bins with no reply; the fourth catches up
    expect(d.dipSeconds).toBe(0.3);
  });

  it('a stall longer than the request timeout: requests that time out are failures, and the gap spans the stall', () => {
    // 2 s stall from 5000; the client gives up on a request after 1 s
    const d = appDowntime(series({ reply: (_due, sent) => (sent >= 5000 && sent < 7000 ? 7000.5 : sent + 0.5), timeoutMs: 1000 }), { ...marks, resumedAt: 7000 }, { ratePerS: RATE });
    expect(d.timedOut).toBe(1001); // due 5000…6000 would have waited over 1 s (6000: 1000.5 ms)
    expect(d.failed).toBe(1001);
    expect(d.longestGapMs).toBe(2001);
    // only the requests that were answered count in the latency: due 6001…6999, 999.5 … 1.5 ms
    expect(d.latencyMs.switchover.n).toBe(999);
    expect(d.latencyMs.switchover.p999).toBe(999.5);
    expect(d.dipSeconds).toBe(2);
  });

  it('a client that falls behind its schedule: latency runs from when a request was due, and the lag is reported', () => {
    // the client is stuck from 4000 to 4200 and then sends everything due meanwhile; the service is fine
    const d = appDowntime(series({ sent: (due) => (due >= 4000 && due < 4200 ? 4200 : due) }), marks, { ratePerS: RATE });
    expect(d.maxSendLagMs).toBe(200);
    expect(d.lateSends).toBe(199); // due 4000 is 200 ms late … due 4198 is 2 ms late; due 4199, 1 ms
    // measured from the send, every request took 0.5 ms; from when it was due, up to 200.5 ms: of
    // the 2000 due in precopy, the 21st slowest (p99, rank 1980) waited 180.5 ms, the 3rd slowest (p99.9, rank 1998) 198.5
    expect(d.latencyMs.precopy.p99).toBe(180.5);
    expect(d.latencyMs.precopy.p999).toBe(198.5);
    expect(d.latencyMs.precopy.p50).toBe(0.5);
    expect(d.failed).toBe(0);
  });
});
