/**
 * The downtime probe's raw material: `ping -D -O -i INTERVAL` output, one timestamped line per
 * reply or per missing reply. The network-probe downtime is the largest gap between replies; its
 * resolution is the probe interval.
 */
export type PingEvent =
  | { kind: 'reply'; seq: number; at: number; rttMs: number }
  | { kind: 'missing'; seq: number; at: number };

const REPLY = /^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/;
const MISSING = /^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)/;

export function parsePingLine(line: string): PingEvent | undefined {
  let m = REPLY.exec(line);
  if (m) return { kind: 'reply', at: Number(m[1]), seq: Number(m[2]), rttMs: Number(m[3]) };
  m = MISSING.exec(line);
  if (m) return { kind: 'missing', at: Number(m[1]), seq: Number(m[2]) };
  return undefined;
}

export interface ProbeSummary {
  intervalMs: number;
  sent: number;
  replies: number;
  /** sequence numbers never answered */
  lost: number;
  /** the longest time between two consecutive replies */
  largestGapMs: number;
  /** when that gap began (epoch seconds), for lining it up with the migration trace */
  gapStartedAt: number | undefined;
  /** the outage the probe can vouch for: the gap less one interval (its resolution) */
  downtimeMs: number;
  /**
   * the guest had not answered again when the probe stopped: the largest gap runs from the last
   * reply to the probe's last line, and the downtime was at least downtimeMs
   */
  openEnded?: true;
  /**
   * what a coarser ping would have said of the same outage: this probe's own requests thinned to
   * one per `intervalMs`, read at every phase (miglab 0.6 on; absent when the probe was not finer)
   */
  coarse?: CoarseReading;
}

export interface CoarseReading {
  intervalMs: number;
  /** the largest reply gap less one interval, over the phases */
  downtimeMs: { mean: number; min: number; max: number };
}

/** Two readings of a probe sending every `every`-th request of the fine probe from `phase`: miglab's (gap) and lost replies × interval. */
export function thinnedProbe(events: readonly PingEvent[], maxSeq: number, every: number, phase: number, intervalMs: number): { gapMs: number; lossMs: number } {
  const kept = events.filter((e) => e.kind === 'reply' && (e.seq - 1) % every === phase);
  const answered = new Set(kept.map((e) => e.seq));
  let lost = 0;
  for (let seq = phase + 1; seq <= maxSeq; seq += every) if (!answered.has(seq)) lost++;
  return { gapMs: summarizePing(kept, intervalMs * every).downtimeMs, lossMs: lost * intervalMs * every };
}

/**
 * The probe's events read as a probe of `coarseMs` would have read them: at each phase (steps of
 * the fine interval), the fine requests sent first at or after each coarse tick are kept, answered
 * as they were, and the largest gap between their replies less `coarseMs` is that probe's
 * downtime. Ticks are placed by send time (a reply's time less its round trip; an unanswered
 * request's interpolated between its neighbours), not by sequence number: a loaded controller
 * sends a "10 ms" probe's requests late (16 ms apart were measured on the TCG bed), and every
 * 100th request is then not one a second. Undefined unless the probe was finer and divides it.
 */
export function coarseReading(events: readonly PingEvent[], intervalMs: number, coarseMs = 1000): CoarseReading | undefined {
  const phases = coarseMs / intervalMs;
  const replies = events.filter((e): e is Extract<PingEvent, { kind: 'reply' }> => e.kind === 'reply').sort((a, b) => a.seq - b.seq);
  if (!(phases > 1) || !Number.isInteger(phases) || replies.length < 2) return undefined;
  const maxSeq = Math.max(...events.map((e) => e.seq));
  // send time (s) of every sequence number, 1..maxSeq
  const sentAt = new Array<number>(maxSeq + 1).fill(NaN);
  for (const r of replies) sentAt[r.seq] = r.at - r.rttMs / 1000;
  let prev: number | undefined;
  let nextAt = 0; // index into replies of the first reply after seq (replies are sorted by seq)
  for (let seq = 1; seq <= maxSeq; seq++) {
    while (nextAt < replies.length && replies[nextAt]!.seq <= seq) nextAt++;
    if (!Number.isNaN(sentAt[seq]!)) { prev = seq; continue; }
    const next = replies[nextAt];
    sentAt[seq] = prev !== undefined && next
      ? sentAt[prev]! + ((seq - prev) / (next.seq - prev)) * (sentAt[next.seq]! - sentAt[prev]!)
      : (prev !== undefined ? sentAt[prev]! + ((seq - prev) * intervalMs) / 1000 : sentAt[replies[0]!.seq]! - ((replies[0]!.seq - seq) * intervalMs) / 1000);
  }
  const bySeq = new Map(replies.map((r) => [r.seq, r]));
  const first = sentAt[1]!;
  const last = sentAt[maxSeq]!;
  const gaps: number[] = [];
  for (let p = 0; p < phases; p++) {
    const kept: PingEvent[] = [];
    let seq = 1;
    for (let tick = first + (p * intervalMs) / 1000; tick <= last; tick += coarseMs / 1000) {
      while (seq <= maxSeq && sentAt[seq]! < tick) seq++;
      if (seq > maxSeq) break;
      const r = bySeq.get(seq);
      if (r) kept.push(r);
    }
    gaps.push(summarizePing(kept, coarseMs).downtimeMs);
  }
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { intervalMs: coarseMs, downtimeMs: { mean: r(gaps.reduce((a, b) => a + b, 0) / gaps.length), min: Math.min(...gaps), max: Math.max(...gaps) } };
}

/** Whether the probe's latest line is a reply: the guest answers (again). */
export function answeringNow(events: readonly PingEvent[]): boolean {
  const last = events.reduce<PingEvent | undefined>((a, e) => (!a || e.at >= a.at ? e : a), undefined);
  return last?.kind === 'reply';
}

export function summarizePing(events: readonly PingEvent[], intervalMs: number): ProbeSummary {
  const replies = events.filter((e): e is Extract<PingEvent, { kind: 'reply' }> => e.kind === 'reply');
  const answered = new Set(replies.map((r) => r.seq));
  const maxSeq = Math.max(0, ...events.map((e) => e.seq));
  let largestGapMs = 0;
  let gapStartedAt: number | undefined;
  const byTime = [...replies].sort((a, b) => a.at - b.at);
  for (let i = 1; i < byTime.length; i++) {
    const gap = (byTime[i]!.at - byTime[i - 1]!.at) * 1000;
    if (gap > largestGapMs) {
      largestGapMs = gap;
      gapStartedAt = byTime[i - 1]!.at;
    }
  }
  // Unanswered to the end: that gap is still open, and as long as the probe ran past the last reply.
  const lastReply = byTime.at(-1);
  const lastLine = events.reduce((t, e) => Math.max(t, e.at), 0);
  let openEnded = false;
  if (lastReply && !answeringNow(events) && (lastLine - lastReply.at) * 1000 > largestGapMs) {
    largestGapMs = (lastLine - lastReply.at) * 1000;
    gapStartedAt = lastReply.at;
    openEnded = true;
  }
  let lost = 0;
  for (let s = 1; s <= maxSeq; s++) if (!answered.has(s)) lost++;
  return {
    intervalMs,
    sent: maxSeq,
    replies: answered.size,
    lost,
    largestGapMs: Math.round(largestGapMs * 1000) / 1000,
    gapStartedAt,
    downtimeMs: Math.max(0, Math.round((largestGapMs - intervalMs) * 1000) / 1000),
    ...(openEnded ? { openEnded: true as const } : {}),
  };
}
