import { describe, expect, it } from 'vitest';
import { summaryTable } from '../cli/run.js';
import type { TrialRow } from '../workflows/trial-types.js';

const row = (id: string, kind: 'converged' | 'offline' | 'failed', tmtMs: number, dtMs: number): TrialRow => ({
  trialId: id, src: 'hosta', dst: 'hostb', workingSetMiB: null,
  outcome: kind === 'converged' ? { kind, attempt: 0, step: 'precopy' } : kind === 'offline' ? { kind, afterAttempts: 3 } : { kind, reason: 'x' },
  metrics: kind === 'failed' ? null : ({ tmtMs, dtMs, md: { totalBytes: 100 * 2 ** 20 } } as TrialRow['metrics']),
  probe: null, dirtyRateMiBps: null, memory: null, attempts: [],
});

describe('run summary table', () => {
  it('groups by scenario (in the order first seen) and size (ascending), and averages only trials with metrics', () => {
    const t = summaryTable([
      row('p/ramp/48MiB/r1', 'converged', 1000, 50),
      row('p/baseline/idle/r1', 'converged', 900, 20),
      row('p/ramp/4MiB/r1', 'converged', 800, 10),
      row('p/ramp/48MiB/r2', 'offline', 3000, 150),
      row('p/ramp/48MiB/r3', 'failed', 0, 0),
    ]).split('\n');
    expect(t.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['ramp 4MiB', 'ramp 48MiB', 'baseline idle']);
    // 48 MiB: n 3, 1 converged, 1 offline, 1 failed; TMT mean of 1000 and 3000; DT mean of 50 and 150
    expect(t[2]!.split(/\s+/).slice(2)).toEqual(['3', '1', '1', '1', '2000', '100.0', '100.0']);
  });

  it("keeps a factorial campaign's combinations apart, ordered by size then levels", () => {
    const t = summaryTable([
      row('s/ramp/8MiB/bw32_xb64/r1', 'converged', 1000, 50),
      row('s/ramp/8MiB/bw32_xboff/r1', 'failed', 0, 0),
      row('s/ramp/4MiB/bw32_xboff/r1', 'converged', 700, 10),
      row('s/ramp/8MiB/bw32_xb64/r2', 'converged', 3000, 150),
    ]).split('\n');
    expect(t.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual(['ramp 4MiB bw32_xboff 1', 'ramp 8MiB bw32_xb64 2', 'ramp 8MiB bw32_xboff 1']);
    expect(t[2]!.split(/\s+/).slice(3)).toEqual(['2', '2', '0', '0', '2000', '100.0', '100.0']);
    // a group whose every trial failed has no means (it printed NaN)
    expect(t[3]!.split(/\s+/).slice(4)).toEqual(['0', '0', '1', '–', '–', '–']);
  });
});
