/** Metric derivations on the final query-migrate recorded from a real bed migration (256 MiB guest, QEMU 7.2, TCG). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveMetrics, endToEndCost, throughputMiBps } from '../workflows/metrics.js';
import type { QueryMigrate } from '../activities/qemu/backend.js';

const final = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'query-migrate-completed.json'), 'utf8')) as QueryMigrate;

describe('trial metrics', () => {
  it('takes DT from the ping probe, as the paper does, and MT = TMT − DT', () => {
    const m = deriveMetrics(final, { intervalMs: 10, sent: 150, replies: 139, lost: 11, largestGapMs: 130, gapStartedAt: 1, downtimeMs: 120 }, 95);
    expect(m).toMatchObject({ tmtMs: 1109, dtMs: 120, dtSource: 'probe', mtMs: 989, iterations: 3, setupMs: 2 });
    expect(m.downtime).toEqual({ qemuMs: 88, probeMs: 120, probeLost: 11, probeIntervalMs: 10, guestClockLagMs: 95, reportedBy: 'qemu' });
    // MD split as QEMU reports it: precopy + downtime bytes add up to the total here (no postcopy)
    expect(m.md).toEqual({ totalBytes: 97815852, precopyBytes: 84851353, downtimeBytes: 12964499, postcopyBytes: 0, source: 'hypervisor' });
    expect(m.md.precopyBytes! + m.md.downtimeBytes!).toBe(m.md.totalBytes);
    // 97,815,852 B = 93.284 MiB over the 1.021 s QEMU was sending (1109 ms less its 88 ms downtime)
    expect(m.throughputMiBps).toBeCloseTo(97815852 / 1048576 / 1.021, 6);
  });

  it("falls back to QEMU's downtime without a probe, and says so", () => {
    const m = deriveMetrics(final);
    expect(m).toMatchObject({ dtMs: 88, dtSource: 'qemu', mtMs: 1021 });
    expect(m.downtime.probeMs).toBeNull();
  });

  it('refuses an unfinished migration', () => {
    expect(() => deriveMetrics({ ...final, status: 'active' })).toThrow(/completed migration/);
  });
  it("does not trust QEMU's timings when a migration that sent data reports taking no time", () => {
    // Recorded on the bed (paper run 3, 40 MiB r2): completed, 149 MiB sent, total-time 0, downtime 0.
    const zero = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'query-migrate-completed-zero-time.json'), 'utf8')) as QueryMigrate;
    expect(zero['total-time']).toBe(0);
    const probe = { intervalMs: 10, sent: 200, replies: 196, lost: 4, largestGapMs: 417.288, gapStartedAt: 1, downtimeMs: 407.288 };
    const m = deriveMetrics(zero, probe, 34.3, 1625);
    expect(m).toMatchObject({ tmtMs: 1625, tmtSource: 'observed', dtMs: 407.288, mtMs: 1625 - 407.288 });
    expect(m.downtime.qemuMs).toBeNull();
    expect(m.throughputMiBps).toBeCloseTo(156000731 / 2 ** 20 / ((1625 - 407.288) / 1000), 6); // no QEMU downtime: over MT
    // QEMU's own figures win whenever they are possible
    expect(deriveMetrics(final, probe, 0, 5000)).toMatchObject({ tmtMs: 1109, tmtSource: 'qemu' });
  });
  it('measures throughput over the sending time even when the probe saw a gap longer than the migration', () => {
    // paper run 3, 8 MiB r2: TMT 1571 ms, probe downtime 1568.3 ms → MT 2.7 ms; QEMU's downtime 15 ms
    expect(throughputMiBps(95 * 2 ** 20, 1571, 15, 2.742)).toBeCloseTo(95 / 1.556, 6);
    expect(throughputMiBps(95 * 2 ** 20, 1571, null, 2.742)).toBeCloseTo(95 / 0.002742, 3);
  });

  it('costs the whole move over every attempt, only when the VM moved and every attempt kept its cost', () => {
    const cost = (startedAt: number, endedAt: number, transferredBytes: number) => ({ startedAt, endedAt, transferredBytes, passes: 3, remainingLowBytes: null });
    const aborted = { result: { status: 'aborted', cost: cost(1000, 31_000, 40e6) } };
    const done = { result: { status: 'completed', cost: cost(33_000, 35_500, 90e6) } };
    // 35.5 s − 1 s from the first migrate command to the end of the last attempt; 40 + 90 MB
    expect(endToEndCost([aborted, done])).toEqual({ totalMs: 34_500, totalBytes: 130e6, attempts: 2 });
    expect(endToEndCost([aborted])).toBeNull(); // the VM never moved
    expect(endToEndCost([{ result: { status: 'aborted' } }, done])).toBeNull(); // a row from before per-attempt costs
  });
});
