import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { answeringNow, coarseReading, parsePingLine, summarizePing, type PingEvent } from '../activities/probe/ping-output.js';

describe('ping probe output', () => {
  it('parses replies and missing replies from ping -D -O', () => {
    expect(parsePingLine('[1795590320.061575] 64 bytes from 198.18.0.100: icmp_seq=1 ttl=64 time=0.097 ms')).toEqual({ kind: 'reply', at: 1795590320.061575, seq: 1, rttMs: 0.097 });
    expect(parsePingLine('[1795590320.356991] no answer yet for icmp_seq=7')).toEqual({ kind: 'missing', at: 1795590320.356991, seq: 7 });
    expect(parsePingLine('PING 198.18.0.100 (198.18.0.100) 56(84) bytes of data.')).toBeUndefined();
    expect(parsePingLine('5 packets transmitted, 5 received, 0% packet loss, time 62ms')).toBeUndefined();
  });

  it('finds the largest gap and the lost sequence numbers (a 10 ms probe across a 250 ms outage)', () => {
    const t0 = 1000;
    const ev: PingEvent[] = [];
    for (let s = 1; s <= 100; s++) {
      const at = t0 + s * 0.01;
      if (s >= 41 && s <= 65) ev.push({ kind: 'missing', seq: s, at: at + 0.01 });
      else ev.push({ kind: 'reply', seq: s, at, rttMs: 0.1 });
    }
    const sum = summarizePing(ev, 10);
    expect(sum).toMatchObject({ sent: 100, replies: 75, lost: 25, intervalMs: 10 });
    expect(sum.largestGapMs).toBeCloseTo(260, 3); // reply 40 at +0.40 s, next reply 66 at +0.66 s
    expect(sum.downtimeMs).toBeCloseTo(250, 3);
    expect(sum.gapStartedAt).toBeCloseTo(t0 + 0.4, 6);
  });

  it('an outage still open when the probe stops counts to its last line, marked open-ended (seen on Xen: the probe stopped before a restored guest answered)', () => {
    const ev: PingEvent[] = [];
    for (let s = 1; s <= 50; s++) ev.push(s <= 20 ? { kind: 'reply', seq: s, at: 1000 + s * 0.1, rttMs: 1 } : { kind: 'missing', seq: s, at: 1000 + s * 0.1 + 0.1 });
    expect(answeringNow(ev)).toBe(false);
    const sum = summarizePing(ev, 100);
    expect(sum).toMatchObject({ sent: 50, replies: 20, lost: 30, openEnded: true });
    expect(sum.largestGapMs).toBeCloseTo(3100, 3); // last reply at +2.0 s, last line at +5.1 s
    expect(sum.downtimeMs).toBeCloseTo(3000, 3);
    expect(sum.gapStartedAt).toBeCloseTo(1002, 6);
    // once the guest answers again, the gap is closed and nothing is open-ended
    ev.push({ kind: 'reply', seq: 51, at: 1005.2, rttMs: 1 });
    expect(answeringNow(ev)).toBe(true);
    const closed = summarizePing(ev, 100);
    expect(closed.openEnded).toBeUndefined();
    expect(closed.largestGapMs).toBeCloseTo(3200, 3);
  });

  it('reads the same series as a 1 s ping would have: each phase sees the 350 ms outage as 0 or 1000 ms, their mean is the outage', () => {
    const ev: PingEvent[] = [];
    // 3 s of a 10 ms probe, no reply from 1.200 s to 1.550 s (35 requests)
    for (let s = 1; s <= 300; s++) ev.push(s > 120 && s <= 155 ? { kind: 'missing', seq: s, at: 1000 + s * 0.01 + 1 } : { kind: 'reply', seq: s, at: 1000 + s * 0.01, rttMs: 0.1 });
    const c = coarseReading(ev, 10)!;
    expect(c.intervalMs).toBe(1000);
    expect(c.downtimeMs.min).toBeCloseTo(0, 6);
    expect(c.downtimeMs.max).toBeCloseTo(1000, 6);
    expect(c.downtimeMs.mean).toBeCloseTo(350, 6);
    // a "10 ms" probe whose requests went out every 16 ms (as on the loaded TCG bed): ticks by send time, not by count
    const late: PingEvent[] = [];
    for (let s = 1; s <= 400; s++) {
      const sent = 1000 + s * 0.016;
      late.push(sent >= 1002 && sent < 1002.4 ? { kind: 'missing', seq: s, at: sent + 0.016 } : { kind: 'reply', seq: s, at: sent + 0.0001, rttMs: 0.1 });
    }
    const l = coarseReading(late, 10)!;
    expect(l.downtimeMs.mean).toBeGreaterThan(400 - 20);
    expect(l.downtimeMs.mean).toBeLessThan(400 + 20);
    // a 1 s ping misses one reply in the outage: 1000 ms, not the 1600 ms of every 100th request
    expect(l.downtimeMs.max).toBeGreaterThan(1000 - 20);
    expect(l.downtimeMs.max).toBeLessThan(1000 + 20);
    // a probe no finer than 1 s, or one that does not divide it, has no coarser reading
    expect(coarseReading(ev, 1000)).toBeUndefined();
    expect(coarseReading(ev, 30)).toBeUndefined();
  });

  it('summarizes a real run of ping against loopback: nothing lost, gaps near the interval', () => {
    const r = spawnSync('ping', ['-D', '-O', '-n', '-i', '0.01', '-c', '20', '127.0.0.1'], { encoding: 'utf8' });
    const events = r.stdout.split('\n').map(parsePingLine).filter((e): e is PingEvent => e !== undefined);
    const sum = summarizePing(events, 10);
    expect(sum.sent).toBe(20);
    expect(sum.lost).toBe(0);
    expect(sum.largestGapMs).toBeGreaterThanOrEqual(9);
    expect(sum.largestGapMs).toBeLessThan(200);
  });
});
