/**
 * miglab's open-loop client: its wire formats (pure), and its schedule against an in-process fake
 * memcached (a fake: the controller has no memcached; the e2e uses the guest's real one) that can
 * withhold its replies for a while, as a paused VM does.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getRequest, runOpenLoop, setRequest, takeReplies } from '../activities/workload/open-loop-client.js';
import { startAppLoad, stopAppLoad } from '../activities/workload/app-load.js';
import { appDowntime } from '../analysis/app-latency.js';

describe('wire formats', () => {
  it('memcached: GET and SET, and its replies split off a stream (hit, miss, error, an incomplete one kept)', () => {
    expect(getRequest('memcached', 7)).toBe('get miglab-7\r\n');
    expect(setRequest('memcached', 7, 'abc')).toBe('set miglab-7 0 0 3\r\nabc\r\n');
    const { replies, rest } = takeReplies('memcached', Buffer.from('VALUE miglab-1 0 3\r\nabc\r\nEND\r\nEND\r\nSERVER_ERROR out of memory\r\nVALUE miglab-2 0 3\r\nab'));
    expect(replies).toEqual([true, false, false]);
    expect(rest.toString()).toBe('VALUE miglab-2 0 3\r\nab');
  });

  it('redis: GET and SET in RESP, bulk replies, nil and errors', () => {
    expect(getRequest('redis', 7)).toBe('*2\r\n$3\r\nGET\r\n$8\r\nmiglab-7\r\n');
    expect(setRequest('redis', 7, 'abc')).toBe('*3\r\n$3\r\nSET\r\n$8\r\nmiglab-7\r\n$3\r\nabc\r\n');
    const { replies, rest } = takeReplies('redis', Buffer.from('$3\r\nabc\r\n$-1\r\n-ERR wrong\r\n$5\r\nab'));
    expect(replies).toEqual([true, false, false]);
    expect(rest.toString()).toBe('$5\r\nab');
  });
});

/**
 * A fake memcached: every get is a hit. Replies are withheld while `stalled(ms since the first
 * get)` says so, then all sent; `received` counts the gets it was sent.
 */
async function fakeMemcached(stalled: (sinceFirstMs: number) => boolean): Promise<{ server: Server; port: number; received: () => number }> {
  let first: number | undefined;
  let received = 0;
  const server = createServer((sock) => {
    let owed = 0;
    const flush = () => {
      if (owed === 0 || stalled(performance.now() - first!)) return;
      sock.write('VALUE k 0 1\r\nx\r\nEND\r\n'.repeat(owed));
      owed = 0;
    };
    const timer = setInterval(flush, 1);
    sock.on('data', (d) => {
      const gets = (d.toString().match(/get /g) ?? []).length;
      first ??= performance.now();
      received += gets;
      owed += gets;
      flush();
    });
    sock.on('close', () => clearInterval(timer));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

describe('the open-loop schedule (against a fake memcached)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('keeps sending on schedule to a service that answers nothing: every request sent, every one failed (a closed-loop client would have sent one)', async () => {
    const fake = await fakeMemcached(() => true);
    server = fake.server;
    const { requests, connectionError } = await runOpenLoop({ host: '127.0.0.1', port: fake.port, protocol: 'memcached', ratePerS: 1000, durationMs: 500, keys: 10, timeoutMs: 100 });
    expect(connectionError).toBeNull();
    expect(requests).toHaveLength(500);
    expect(requests.every((r, i) => Math.abs(r.dueAt - requests[0]!.dueAt - i) < 1e-6)).toBe(true);
    expect(fake.received()).toBe(500);
    expect(requests.filter((r) => r.ok || r.doneAt !== null)).toEqual([]);
  });

  it('records every request of a run whose service withholds its replies for 200 ms, and that is the gap', async () => {
    const fake = await fakeMemcached((ms) => ms >= 400 && ms < 600);
    server = fake.server;
    const { requests } = await runOpenLoop({ host: '127.0.0.1', port: fake.port, protocol: 'memcached', ratePerS: 1000, durationMs: 1000, keys: 10, timeoutMs: 5000 });
    expect(requests).toHaveLength(1000);
    expect(requests.filter((r) => !r.ok)).toEqual([]);
    const at = requests[0]!.dueAt;
    const d = appDowntime(requests, { startedAt: at, pausedAt: at + 400, resumedAt: at + 600 }, { ratePerS: 1000 });
    // no reply came for 200 ms (more if this machine is busy; never less)
    expect(d.longestGapMs).toBeGreaterThanOrEqual(199);
  });

  it('a reply later than the timeout leaves its request failed; the ones after the stall succeed', async () => {
    const fake = await fakeMemcached((ms) => ms >= 100 && ms < 400);
    server = fake.server;
    const { requests } = await runOpenLoop({ host: '127.0.0.1', port: fake.port, protocol: 'memcached', ratePerS: 500, durationMs: 600, keys: 10, timeoutMs: 100 });
    expect(requests).toHaveLength(300);
    const failed = requests.filter((r) => !r.ok);
    // withheld for 300 ms against a 100 ms timeout: the requests sent in its first 200 ms (about 100) fail
    expect(failed.length).toBeGreaterThanOrEqual(50);
    expect(failed.every((r) => r.doneAt === null)).toBe(true);
    expect(requests.at(-1)!.ok).toBe(true);
  });

  it('a connection the service drops: the rest of the schedule is recorded as failed, and the error kept', async () => {
    const srv = createServer((sock) => {
      sock.on('data', () => undefined);
      setTimeout(() => sock.destroy(), 100);
    });
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
    const { requests, connectionError } = await runOpenLoop({ host: '127.0.0.1', port: (srv.address() as { port: number }).port, protocol: 'redis', ratePerS: 1000, durationMs: 400, keys: 10, timeoutMs: 50 });
    expect(connectionError).not.toBeNull();
    expect(requests).toHaveLength(400);
    expect(requests.filter((r) => r.ok)).toEqual([]);
  });
});

describe('a trial\'s load, started before the move and stopped after it (against a fake memcached)', () => {
  it('runs until stopped, once per trial, and a stop with no load finds nothing', async () => {
    const fake = await fakeMemcached(() => false);
    try {
      const o = { host: '127.0.0.1', port: fake.port, protocol: 'memcached' as const, ratePerS: 1000, keys: 10, timeoutMs: 100, maxDurationMs: 60_000 };
      expect(startAppLoad('c/s/idle/r1', o)).toBe('started');
      expect(startAppLoad('c/s/idle/r1', o)).toBe('already');
      await new Promise((r) => setTimeout(r, 300));
      const got = await stopAppLoad('c/s/idle/r1');
      expect(got!.connectionError).toBeNull();
      // stopped long before its 60 s: what it sent is what the service received, all answered
      expect(got!.requests.length).toBeGreaterThan(0);
      expect(got!.requests.length).toBeLessThan(60_000);
      expect(got!.requests.length).toBe(fake.received());
      expect(got!.requests.every((r) => r.ok)).toBe(true);
      expect(await stopAppLoad('c/s/idle/r1')).toBeNull();
    } finally {
      fake.server.close();
    }
  });

  it('stopped after a stall, it first runs until its service answers again (and no longer than it is let)', async () => {
    // replies withheld from 100 ms to 600 ms after the first request
    const fake = await fakeMemcached((ms) => ms >= 100 && ms < 600);
    try {
      const o = { host: '127.0.0.1', port: fake.port, protocol: 'memcached' as const, ratePerS: 1000, keys: 10, timeoutMs: 2000, maxDurationMs: 60_000 };
      startAppLoad('c/s/8MiB/r1', o);
      await new Promise((r) => setTimeout(r, 200));
      // stopped during the stall, to run until a reply after 800 ms from now
      const after = Date.now() + 800;
      const got = (await stopAppLoad('c/s/8MiB/r1', { untilOkAfter: after, maxWaitMs: 5_000 }))!;
      expect(Math.max(...got.requests.filter((r) => r.ok).map((r) => r.doneAt!))).toBeGreaterThan(after);
      // it kept to its schedule until then (stopped at once, its last request would be due 800 ms earlier)
      expect(Math.max(...got.requests.map((r) => r.dueAt))).toBeGreaterThan(after - 50);
      // the stall's requests were answered when it ended, not counted as failed
      expect(got.requests.filter((r) => !r.ok)).toHaveLength(0);
      // a service that never answers again: the stop waits no longer than it is let
      startAppLoad('c/s/8MiB/r2', { ...o, port: (await fakeMemcached(() => true)).port });
      const t = Date.now();
      await stopAppLoad('c/s/8MiB/r2', { untilOkAfter: Date.now(), maxWaitMs: 300 });
      expect(Date.now() - t).toBeLessThan(300 + 2_000 + 500); // the wait, then the timeout for replies still owed
    } finally {
      fake.server.close();
    }
  });

  it('a service that cannot be reached: the stop says why', async () => {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    startAppLoad('c/s/idle/r2', { host: '127.0.0.1', port, protocol: 'redis', ratePerS: 100, keys: 1, timeoutMs: 100, maxDurationMs: 1000 });
    expect((await stopAppLoad('c/s/idle/r2'))!.connectionError).toMatch(/ECONNREFUSED/);
  });
});

describe('where the client connects from', () => {
  it('from the address it is given, and not at all when that address is not this machine\'s', async () => {
    const fake = await fakeMemcached(() => false);
    try {
      const base = { host: '127.0.0.1', port: fake.port, protocol: 'memcached' as const, ratePerS: 100, durationMs: 50, keys: 1, timeoutMs: 100 };
      expect((await runOpenLoop({ ...base, localAddress: '127.0.0.1' })).requests.every((r) => r.ok)).toBe(true);
      // 198.19.255.254: in the bed's range, on no interface here (as after the bed went down)
      await expect(runOpenLoop({ ...base, localAddress: '198.19.255.254' })).rejects.toThrow(/EADDRNOTAVAIL/);
    } finally {
      fake.server.close();
    }
  });
});
