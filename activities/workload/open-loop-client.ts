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
  /** the key set: GETs of key 0 … keys-1 in turn, and SETs rewriting it in turn */
  keys: number;
  /** the share of requests that are SETs (default 0: GETs only), spread evenly through the schedule */
  setFraction?: number;
  /** a SET's value size (default 64) */
  valueBytes?: number;
  /** a request with no reply after this long counts as failed (its reply, if it comes, is ignored) */
  timeoutMs: number;
  /**
   * the controller's own address to connect from (on a bed: its controller veth's), so that no
   * connection can open from another address when the bed is gone
   */
  localAddress?: string;
  /** stop early (the trial's cancellation) */
  signal?: AbortSignal;
  /** called with each successful reply's arrival time (in time: a late reply is not one) */
  onOk?: (doneAt: number) => void;
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

/** Whether request `i` of a schedule with this share of SETs is a SET: every 1/f-th, evenly spread. */
export const isSet = (i: number, setFraction: number) => Math.floor((i + 1) * setFraction) > Math.floor(i * setFraction);

/**
 * Values for SETs: slices of one random text, so that no value is a zero page or repeats its
 * neighbour's bytes (`i` picks the slice).
 */
export function valueMaker(valueBytes: number): (i: number) => string {
  let text = '';
  while (text.length < valueBytes + 61) text += Math.random().toString(36).slice(2);
  return (i) => text.slice(i % 61, (i % 61) + valueBytes);
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
      if (line === 'STORED') { replies.push(true); at = eol + 2; continue; } // a SET's
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
      } else if (line === '+OK') {
        replies.push(true); // a SET's
        at = eol + 2;
      } else {
        replies.push(false); // -ERR, or anything else a GET or SET should not get
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
      if (t - r.sentAt <= o.timeoutMs) {
        r.doneAt = t;
        r.ok = ok;
        if (ok) o.onOk?.(t);
      }
    }
  });
  socket.on('error', (err) => { broken = err; });
  socket.on('close', () => { broken ??= new Error('the service closed the connection'); });

  const start = now();
  const total = Math.floor((o.durationMs * o.ratePerS) / 1000);
  const interval = 1000 / o.ratePerS;
  const setFraction = o.setFraction ?? 0;
  const value = valueMaker(o.valueBytes ?? 64);
  // GETs and SETs each walk the key set in turn
  let gets = 0;
  let sets = 0;
  let next = 0;
  try {
    while (next < total && !o.signal?.aborted && !broken) {
      const t = now();
      // everything due by now goes out now, each with its own due time (late sends are recorded as such)
      let batch = '';
      while (next < total && start + next * interval <= t) {
        const set = isSet(next, setFraction);
        requests.push({ dueAt: start + next * interval, sentAt: t, doneAt: null, ok: false, ...(set ? { op: 'set' as const } : {}) });
        pending.push(next);
        batch += set ? setRequest(o.protocol, sets % o.keys, value(sets++)) : getRequest(o.protocol, gets++ % o.keys);
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
    for (; next < total; next++) requests.push({ dueAt: start + next * interval, sentAt: start + next * interval, doneAt: null, ok: false, ...(isSet(next, setFraction) ? { op: 'set' as const } : {}) });
  }
  return { requests, connectionError: (broken as Error | undefined)?.message ?? null };
}

/**
 * Loads the key set before a run: a SET of every key, pipelined (at most `window` unanswered), each
 * reply checked. Returns how long it took; throws naming the first key the service refused.
 */
export async function loadKeySet(o: { host: string; port: number; protocol: ServiceProtocol; keys: number; valueBytes: number; localAddress?: string; window?: number; signal?: AbortSignal; onProgress?: (acked: number) => void }): Promise<{ loadMs: number }> {
  const t0 = performance.now();
  const window = o.window ?? 256;
  const value = valueMaker(o.valueBytes);
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: o.host, port: o.port, noDelay: true, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  try {
    let acked = 0;
    let sent = 0;
    let buf: Buffer = Buffer.alloc(0);
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const { replies, rest } = takeReplies(o.protocol, buf);
      buf = Buffer.from(rest);
      for (const ok of replies) {
        if (!ok) failure ??= new Error(`${o.protocol} refused SET ${keyName(acked)} (${o.valueBytes}-byte value)`);
        acked++;
      }
      wake?.();
    });
    socket.on('error', (err) => { failure ??= err; wake?.(); });
    socket.on('close', () => { failure ??= new Error(`${o.protocol} closed the connection after ${acked} of ${o.keys} SETs`); wake?.(); });
    while (acked < o.keys) {
      if (failure) throw failure;
      if (o.signal?.aborted) throw new Error('loading the key set was cancelled');
      let batch = '';
      while (sent < o.keys && sent - acked < window) batch += setRequest(o.protocol, sent, value(sent++));
      if (batch) socket.write(batch);
      await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      o.onProgress?.(acked);
    }
    return { loadMs: Math.round(performance.now() - t0) };
  } finally {
    socket.destroy();
  }
}
