/** The guest workload, compiled and run here on the host (the same static binary goes into the guest). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'miglab-dirtier-'));
const bin = join(dir, 'dirtier');

interface Beat {
  seq: number;
  mono: number;
  gapUs: number;
  pages: number;
}

function run(args: string[]) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000 });
  const lines = r.stdout.split('\n').filter(Boolean);
  const kv = (line: string) => Object.fromEntries(line.split(' ').slice(1).map((p) => p.split('=') as [string, string]));
  const beats: Beat[] = lines.filter((l) => l.startsWith('hb ')).map((l) => {
    const o = kv(l);
    return { seq: Number(o.seq), mono: Number(o.mono_ns), gapUs: Number(o.gap_us), pages: Number(o.pages) };
  });
  const end = lines.find((l) => l.startsWith('end '));
  return { code: r.status, lines, beats, end: end ? kv(end) : undefined, stderr: r.stderr };
}

describe('dirtier', () => {
  beforeAll(() => {
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', bin, join(import.meta.dirname, '..', 'lab', 'guest', 'dirtier.c')]);
  });

  it('dirties at the requested rate, within 10 %, by its own clock', () => {
    const r = run(['-m', '16', '-r', '40', '-i', '50', '-t', '1']);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatch(/^ready mib=16 rate=40\.000 pattern=seq pagesize=4096 addr=0x[0-9a-f]+$/);
    // pages written between its first and last heartbeat over the time its own monotonic clock
    // says passed: a loaded machine that delays the program moves both, not the rate
    const first = r.beats[0]!;
    const last = r.beats.at(-1)!;
    expect(r.beats.length).toBeGreaterThanOrEqual(5);
    const mibPerS = ((last.pages - first.pages) * 4096) / 2 ** 20 / ((last.mono - first.mono) / 1e9);
    expect(mibPerS).toBeGreaterThan(36);
    expect(mibPerS).toBeLessThan(44);
  });

  it('beats at the interval with consecutive sequence numbers and rising page counts', () => {
    const r = run(['-m', '4', '-r', '10', '-i', '20', '-t', '0.5']);
    // beats every 20 ms by its own clock: the median gap it measured (one delayed beat on a loaded machine moves no median)
    expect(r.beats.length).toBeGreaterThanOrEqual(5);
    const gaps = r.beats.slice(1).map((b) => b.gapUs).sort((x, y) => x - y);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeGreaterThanOrEqual(19_000);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeLessThan(30_000);
    r.beats.forEach((b, i) => expect(b.seq).toBe(i));
    for (let i = 1; i < r.beats.length; i++) {
      expect(r.beats[i]!.mono).toBeGreaterThan(r.beats[i - 1]!.mono);
      expect(r.beats[i]!.pages).toBeGreaterThanOrEqual(r.beats[i - 1]!.pages);
      expect(r.beats[i]!.gapUs).toBeGreaterThanOrEqual(19_000);
    }
    // the end line's largest gap is the largest gap the beats reported
    expect(Number(r.end!.max_gap_us)).toBeGreaterThanOrEqual(Math.max(...r.beats.map((b) => b.gapUs)));
  });

  it('runs flat out with "max" and a random pattern', () => {
    const r = run(['-m', '8', '-r', 'max', '-p', 'random', '-i', '100', '-t', '0.3']);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toContain('pattern=random');
    expect(Number(r.end!.pages)).toBeGreaterThan(8 * 256); // more than one pass over 8 MiB
  });

  it('shows a pause as a heartbeat gap (SIGSTOP for 300 ms)', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(bin, ['-m', '4', '-r', '10', '-i', '10', '-t', '1.2']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGCONT');
    await new Promise((r) => child.on('exit', r));
    const gaps = out.split('\n').filter((l) => l.startsWith('hb ')).map((l) => Number(/gap_us=(\d+)/.exec(l)![1]));
    expect(Math.max(...gaps)).toBeGreaterThan(250_000);
  });

  it('counts writes that find their page rolled back, as a migration that lost a dirty page leaves it', async () => {
    const { spawn } = await import('node:child_process');
    const { openSync, writeSync, closeSync } = await import('node:fs');
    // 4 MiB at 20 MiB/s: every page is written five times a second.
    const child = spawn(bin, ['-m', '4', '-r', '20', '-i', '50', '-t', '1.5']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 10));
    const addr = BigInt(/addr=(0x[0-9a-f]+)/.exec(out)![1]!);
    await new Promise((r) => setTimeout(r, 400));
    // Roll seven pages' write counters back behind the program's back, through /proc/PID/mem.
    const fd = openSync(`/proc/${child.pid}/mem`, 'r+');
    const stalePages = [3, 100, 101, 500, 700, 900, 1023];
    for (const p of stalePages) writeSync(fd, Buffer.alloc(8), 0, 8, Number(addr + BigInt(p * 4096)));
    closeSync(fd);
    await new Promise((r) => child.on('exit', r));
    const end = /^end .*stale=(\d+)$/m.exec(out);
    expect(end).not.toBeNull();
    expect(Number(end![1])).toBe(stalePages.length);
    const beats = out.split('\n').filter((l) => l.startsWith('hb '));
    expect(beats[0]).toMatch(/ stale=0$/);
  });

  it('reads its clocks once with -c, in step with the host clock', () => {
    const before = Date.now();
    const r = run(['-c']);
    const after = Date.now();
    expect(r.code).toBe(0);
    const m = /^clock real_ns=(\d+) mono_ns=(\d+)$/.exec(r.lines[0]!);
    expect(m).not.toBeNull();
    const realMs = Number(BigInt(m![1]!) / 1_000_000n);
    expect(realMs).toBeGreaterThanOrEqual(before - 1);
    expect(realMs).toBeLessThanOrEqual(after + 1);
  });

  it('rejects bad arguments with its usage and exit 2', () => {
    for (const args of [[], ['-m', '0'], ['-m', '4', '-r', '-3'], ['-m', '4', '-p', 'zigzag'], ['-m', 'x']]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('usage: dirtier');
    }
  });
});
