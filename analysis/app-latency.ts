/**
 * Downtime as a service's clients see it (issue 17): an open-loop client's raw series of requests
 * across a migration, reduced to the longest gap between successful replies, failed and timed-out
 * requests, latency percentiles per phase and the throughput dip.
 *
 * Latency runs from when a request was *due* (its place in the fixed-rate schedule), not from when
 * the client got round to sending it: a client that falls behind its schedule during a stall
 * would otherwise hide the stall's cost (coordinated omission). How far sends fell behind is
 * reported apart, so a client too slow for its rate is seen, not mistaken for the service.
 */

/** One request as the client recorded it; times in ms on the controller's clock. */
export interface AppRequest {
  /** when the schedule said to send it */
  dueAt: number;
  /** when it was sent */
  sentAt: number;
  /** when its reply arrived (null: none, within the client's timeout) */
  doneAt: number | null;
  /** a reply that was the right one (a miss or an error reply is not) */
  ok: boolean;
  /** a SET (absent: a GET) */
  op?: 'set';
}

/** The migration's marks on the same clock: precopy start, the source's pause, the destination's resume. */
export interface MigrationMarks {
  /** the first migrate command (its preparations run until startedAt; absent before miglab 0.6's release) */
  commandAt?: number;
  startedAt: number;
  pausedAt: number;
  resumedAt: number;
}

export interface Percentiles {
  n: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

export interface AppDowntime {
  requests: number;
  /** requests with no right reply: errors, and no reply within the timeout */
  failed: number;
  timedOut: number;
  /** the longest time with no successful reply, and when it began (a reply's arrival) */
  longestGapMs: number;
  gapStartedAt: number | null;
  /** latency (due → reply) of successful requests due before precopy, during it, across the pause, after the resume */
  latencyMs: { before: Percentiles; precopy: Percentiles; switchover: Percentiles; after: Percentiles };
  /**
   * the throughput dip: per bin, replies short of the schedule's rate, summed over the series —
   * in requests, and as seconds of complete outage at the scheduled rate
   */
  dipRequests: number;
  dipSeconds: number;
  /** how far the client fell behind its schedule (sentAt − dueAt): the most, and how many requests were over 1 ms late */
  maxSendLagMs: number;
  lateSends: number;
}

/**
 * The p-quantile (0..1) of sorted values by nearest rank: always a latency that was observed, as
 * latency percentiles are read (model-fit's `quantile` interpolates between ranks); null for none.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: nearestRank(s, 0.5), p99: nearestRank(s, 0.99), p999: nearestRank(s, 0.999) };
}

/**
 * The series reduced. `ratePerS` is the schedule's rate; `binMs` the width of the throughput bins
 * (default 100 ms). The series must be the whole run: the first request's due time starts it and
 * the last one's ends it.
 */
export function appDowntime(requests: readonly AppRequest[], marks: MigrationMarks, o: { ratePerS: number; binMs?: number }): AppDowntime {
  const binMs = o.binMs ?? 100;
  const byDue = [...requests].sort((a, b) => a.dueAt - b.dueAt);
  const good = byDue.filter((r) => r.ok && r.doneAt !== null);
  const start = byDue[0]?.dueAt ?? 0;
  const end = byDue.at(-1)?.dueAt ?? 0;

  // longest gap between successful replies, the series' own start and end counting as edges
  const arrivals = good.map((r) => r.doneAt!).sort((a, b) => a - b);
  let longestGapMs = 0;
  let gapStartedAt: number | null = null;
  const edges = [start, ...arrivals, Math.max(end, arrivals.at(-1) ?? end)];
  for (let i = 1; i < edges.length; i++) {
    const gap = edges[i]! - edges[i - 1]!;
    if (gap > longestGapMs) {
      longestGapMs = gap;
      gapStartedAt = edges[i - 1]!;
    }
  }

  const phase = (due: number) => (due < marks.startedAt ? 'before' : due < marks.pausedAt ? 'precopy' : due < marks.resumedAt ? 'switchover' : 'after');
  const lat: Record<'before' | 'precopy' | 'switchover' | 'after', number[]> = { before: [], precopy: [], switchover: [], after: [] };
  for (const r of good) lat[phase(r.dueAt)].push(r.doneAt! - r.dueAt);

  // throughput: per bin of the schedule, replies short of what was due
  const perBin = (o.ratePerS * binMs) / 1000;
  const bins = Math.max(1, Math.ceil((end - start + 1) / binMs));
  const done = new Array<number>(bins).fill(0);
  for (const t of arrivals) {
    const b = Math.floor((t - start) / binMs);
    if (b >= 0 && b < bins) done[b]!++;
  }
  const dipRequests = done.reduce((sum, d) => sum + Math.max(0, perBin - d), 0);

  const lags = byDue.map((r) => r.sentAt - r.dueAt);
  return {
    requests: byDue.length,
    failed: byDue.length - good.length,
    timedOut: byDue.filter((r) => r.doneAt === null).length,
    longestGapMs,
    gapStartedAt,
    latencyMs: { before: percentiles(lat.before), precopy: percentiles(lat.precopy), switchover: percentiles(lat.switchover), after: percentiles(lat.after) },
    dipRequests: Math.round(dipRequests * 1000) / 1000,
    dipSeconds: Math.round((dipRequests / o.ratePerS) * 1e6) / 1e6,
    maxSendLagMs: lags.reduce((m, l) => Math.max(m, l), 0),
    lateSends: lags.filter((l) => l > 1).length,
  };
}

/**
 * Which phase of the move a gap began in, `slackMs` either side of the pause counting as the
 * switchover (the marks come from the hypervisor's figures and the controller's polls, so a stall
 * that is the switchover can begin a little before the computed pause). `preparing`: after the
 * migrate command, before the hypervisor's own migration started (setting it up on both hosts).
 */
export function gapPhase(gapStartedAt: number | null, marks: MigrationMarks | null, slackMs = 100): 'before' | 'preparing' | 'precopy' | 'switchover' | 'after' | null {
  if (gapStartedAt === null || marks === null) return null;
  if (gapStartedAt >= marks.pausedAt - slackMs && gapStartedAt <= marks.resumedAt + slackMs) return 'switchover';
  if (gapStartedAt >= marks.resumedAt) return 'after';
  if (gapStartedAt >= marks.startedAt - slackMs) return 'precopy';
  return marks.commandAt !== undefined && gapStartedAt >= marks.commandAt - slackMs ? 'preparing' : 'before';
}
