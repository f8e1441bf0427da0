/** Reading the workload's log: its write rate by its own clock. */
import { describe, expect, it } from 'vitest';
import { writeRateMiBps } from '../activities/workload/dirtier-output.js';

const hb = (seq: number, monoMs: number, pages: number) => `hb seq=${seq} mono_ns=${monoMs * 1e6} real_ns=1 gap_us=10000 pages=${pages} stale=0`;

describe('dirtier output', () => {
  it('takes the write rate from the first and last heartbeats, by the mono clock', () => {
    // 25600 pages of 4 KiB in 0.5 s: 100 MiB in 0.5 s = 200 MiB/s
    const log = ['ready mib=16 rate=max:0.000 pattern=seq pagesize=4096 addr=0x1', hb(0, 1000, 0), hb(1, 1250, 9000), hb(2, 1500, 25600), ''].join('\n');
    expect(writeRateMiBps(log, 4096)).toBeCloseTo(200, 10);
  });

  it('is undefined until the heartbeats span long enough, and skips a line still being written', () => {
    expect(writeRateMiBps([hb(0, 1000, 0), hb(1, 1100, 500), ''].join('\n'), 4096)).toBeUndefined();
    // the last line has no newline yet: it is not counted (its pages would be wrong)
    expect(writeRateMiBps([hb(0, 1000, 0), hb(1, 1400, 25600), 'hb seq=2 mono_ns=1500000000 real_ns=1 gap_us=1 pages=99'].join('\n'), 4096)).toBeCloseTo(250, 10);
    expect(writeRateMiBps('', 4096)).toBeUndefined();
  });
});
