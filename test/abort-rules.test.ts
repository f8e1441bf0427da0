/** The abort rules on hand-made traces of query-migrate polls (synthetic, built to the rule's edges). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AbortWatch } from '../activities/migration/abort-rules.js';
import type { MigrationProgress } from '../activities/backend.js';

const MiB = 2 ** 20;
const poll = (elapsedMs: number, iterations: number, remainingMiB: number, status = 'active'): MigrationProgress => ({
  status,
  elapsedMs,
  transferredBytes: 0,
  remainingBytes: remainingMiB * MiB,
  totalBytes: 256 * MiB,
  iterations,
  mbps: 900,
  dirtyPagesRate: 0,
});

describe('abort rules', () => {
  const rules = { completionTimeoutSPerGiB: 800, guestMemoryMiB: 256, stallIterations: 3 };

  it('stalls after N iterations without a new low of remaining bytes', () => {
    const w = new AbortWatch(rules);
    // first pass (ignored), then a working set that is re-sent in full every round
    const trace = [poll(100, 1, 200), poll(900, 1, 20), poll(1200, 2, 64), poll(1500, 2, 40), poll(1900, 3, 64), poll(2300, 4, 64), poll(2700, 5, 64)];
    const verdicts = trace.map((p) => w.observe(p));
    expect(verdicts.slice(0, 6).every((v) => !v.abort)).toBe(true);
    expect(verdicts[6]).toMatchObject({ abort: true, rule: 'stall' });
    expect(verdicts[6]!.abort && verdicts[6]!.reason).toBe('no new low of remaining bytes for 3 iterations (low 40.0 MiB at iteration 2)');
  });

  it('a new low resets the count: a slowly converging migration is not a stall', () => {
    const w = new AbortWatch(rules);
    const lows = [60, 50, 45, 41, 38, 36, 35];
    const verdicts = lows.map((mib, i) => w.observe(poll(1000 + i * 400, 2 + i, mib)));
    expect(verdicts.some((v) => v.abort)).toBe(false);
  });

  it('ignores the first pass, whatever its remaining bytes do', () => {
    const w = new AbortWatch(rules);
    for (let i = 0; i < 20; i++) expect(w.observe(poll(100 + i * 100, 1, 200)).abort).toBe(false);
  });

  it('times out per GiB of guest memory (Nova: 800 s/GiB → 200 s for 256 MiB)', () => {
    const w = new AbortWatch(rules);
    expect(w.observe(poll(199_999, 1, 100)).abort).toBe(false);
    expect(w.observe(poll(200_001, 1, 100))).toMatchObject({ abort: true, rule: 'completion-timeout' });
  });

  it('judges only active migrations', () => {
    const w = new AbortWatch({ ...rules, completionTimeoutSPerGiB: 1 });
    expect(w.observe(poll(10_000, 9, 64, 'setup')).abort).toBe(false);
    expect(w.observe(poll(10_000, 9, 0, 'completed')).abort).toBe(false);
  });

  it('stops a real non-converging trace from the bed (64 MiB re-dirtied flat out, 112 MiB/s, 300 ms)', () => {
    // Recorded with 50 ms polls: after each sync remaining bytes jump back to 42-53 MiB and sink to a
    // floor of about 30.5 MiB, just short of the switch-over threshold, round after round.
    const trace = readFileSync(join(import.meta.dirname, 'fixtures', 'stall-trace-64mib.jsonl'), 'utf8')
      .trim().split('\n').map((l) => ({ ...poll(0, 0, 0), ...JSON.parse(l) }) as MigrationProgress);
    const w = new AbortWatch({ completionTimeoutSPerGiB: 800, guestMemoryMiB: 256, stallIterations: 5 });
    const at = trace.findIndex((p) => w.observe(p).abort);
    expect(at).toBeGreaterThan(0);
    expect(trace[at]!.iterations).toBe(8);
    const again = new AbortWatch({ completionTimeoutSPerGiB: 800, guestMemoryMiB: 256, stallIterations: 5 });
    const verdict = trace.slice(0, at + 1).map((p) => again.observe(p)).at(-1)!;
    expect(verdict).toMatchObject({ abort: true, rule: 'stall', reason: 'no new low of remaining bytes for 5 iterations (low 30.8 MiB at iteration 3)' });
  });

  it('does not count jitter around a floor as progress', () => {
    const w = new AbortWatch({ ...rules, minImprovement: 0.01 });
    const floor = [40, 39.9, 39.8, 39.75, 39.7]; // each under 1 % below the last low
    const v = floor.map((mib, i) => w.observe(poll(1000 + i * 300, 2 + i, mib)));
    expect(v.at(-1)).toMatchObject({ abort: true, rule: 'stall' });
  });
});
