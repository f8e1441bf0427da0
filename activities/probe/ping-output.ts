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
