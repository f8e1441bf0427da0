/**
 * miglab's own open-loop load client for memcached and redis (issue 17): requests go out on a
 * fixed schedule whatever the replies do, pipelined on one TCP connection, and every request's due
 * time, send time, reply time and result is kept (analysis/app-latency.ts reduces them). Debian's
 * load tools either wait for each reply (closed loop: a stalled server is sent nothing, and its
 * stall disappears from the latencies) or report no per-request times, so miglab brings its own.
 */
import { connect, type Socket } from 'node:net';
import type { AppRequest } from '../../analysis/app-latency.js';

export type ServiceProtocol = 'memcached' | 'redis';

export interface OpenLoopOptions {
  host: string;
  port: number;
  protocol: ServiceProtocol;
  /** requests per second, and for how long */
  ratePerS: number;
  durationMs: number;
  /** GETs of key-0 … key-(keys-1), in turn */
  keys: number;
  /** a request with no reply after this long counts as failed (its reply, if it comes, is ignored) */
  timeoutMs: number;
  /**
   * the controller's own address to connect from (on a bed: its controller veth's), so that no
   * connection can open from another address when the bed is gone
   */
  localAddress?: string;
  /** stop early (the trial's cancellation) */
  signal?: AbortSignal;
  now?: () => number;
}

export const keyName = (i: number) => `miglab-${i}`;

/** A GET of key `i` in the protocol's wire format. */
export function getRequest(protocol: ServiceProtocol, i: number): string {
  const key = keyName(i);
  return protocol === 'memcached' ? `get ${key}\r\n` : `*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`;
}

/** A SET of key `i` to `value` (loading the working set before the run). */
export function setRequest(protocol: ServiceProtocol, i: number, value: string): string {
  const key = keyName(i);
  const n = Buffer.byteLength(value);
  return protocol === 'memcached' ? `set ${key} 0 0 ${n}\r\n${value}\r\n` : `*3\r\n$3\r\nSET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$${n}\r\n${value}\r\n`;
}

/**
 * Splits replies off the front of a byte stream: returns each complete reply's verdict (true: a
 * hit, false: a miss or an error) and the bytes left over, an incomplete reply.
 */
export function takeReplies(protocol: ServiceProtocol, buf: Buffer): { replies: boolean[]; rest: Buffer } {
  const replies: boolean[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const line = buf.toString('latin1', at, eol);
    if (protocol === 'memcached') {
      if (line === 'END') { replies.push(false); at = eol + 2; continue; } // a miss
      const m = /^VALUE \S+ \d+ (\d+)/.exec(line);
      if (!m) { replies.push(false); at = eol + 2; continue; } // ERROR, SERVER_ERROR …: a failed request
      const end = eol + 2 + Number(m[1]) + 2; // the data and its CRLF, then END\r\n
      const tail = buf.indexOf('END\r\n', end);
      if (tail !== end) { if (buf.length < end + 5) break; replies.push(false); at = end; continue; }
      replies.push(true);
      at = end + 5;
    } else {
      if (line.startsWith('$')) {
        const n = Number(line.slice(1));
        if (n < 0) { replies.push(false); at = eol + 2; continue; } // nil: a miss
        const end = eol + 2 + n + 2;
        if (buf.length < end) break;
        replies.push(true);
        at = end;
      } else {
        replies.push(false); // -ERR, or anything else a GET should not get
        at = eol + 2;
      }
    }
  }
  return { replies, rest: buf.subarray(at) };
}

/**
 * Runs the schedule against the service and returns every request as it went. If the connection
 * breaks, the rest of the schedule is recorded as failed requests (never sent) and the error kept:
 * a run never has fewer requests than its schedule.
 */
export async function runOpenLoop(o: OpenLoopOptions): Promise<{ requests: AppRequest[]; connectionError: string | null }> {
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: o.host, port: o.port, noDelay: true, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  const requests: AppRequest[] = [];
  /** indices of requests awaiting their reply, in the order they were sent (replies come in that order) */
  const pending: number[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let broken: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    const t = now();
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const { replies, rest } = takeReplies(o.protocol, buf);
    buf = Buffer.from(rest);
    for (const ok of replies) {
      const i = pending.shift();
      if (i === undefined) continue;
      const r = requests[i]!;
      // a reply after the timeout came too late: the request stays failed
      if (t - r.sentAt <= o.timeoutMs) { r.doneAt = t; r.ok = ok; }
    }
  });
  socket.on('error', (err) => { broken = err; });
  socket.on('close', () => { broken ??= new Error('the service closed the connection'); });

  const start = now();
  const total = Math.floor((o.durationMs * o.ratePerS) / 1000);
  const interval = 1000 / o.ratePerS;
  let next = 0;
  try {
    while (next < total && !o.signal?.aborted && !broken) {
      const t = now();
      // everything due by now goes out now, each with its own due time (late sends are recorded as such)
      let batch = '';
      while (next < total && start + next * interval <= t) {
        requests.push({ dueAt: start + next * interval, sentAt: t, doneAt: null, ok: false });
        pending.push(next);
        batch += getRequest(o.protocol, next % o.keys);
        next++;
      }
      if (batch) socket.write(batch);
      const wait = start + next * interval - now();
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(wait, 1))));
    }
    // replies still owed get the timeout to arrive
    const until = now() + o.timeoutMs;
    while (pending.length && now() < until && !broken) await new Promise((r) => setTimeout(r, 5));
  } finally {
    socket.destroy();
  }
  if (broken && !o.signal?.aborted) {
    for (; next < total; next++) requests.push({ dueAt: start + next * interval, sentAt: start + next * interval, doneAt: null, ok: false });
  }
  return { requests, connectionError: (broken as Error | undefined)?.message ?? null };
}
