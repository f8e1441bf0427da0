/**
 * Synthetic trial rows for tests and the report benchmark: the shape `trial` records, with the
 * values a caller chooses. Never used for real results.
 */
import type { AttemptRecord, MigrationTuning, TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;

export interface SyntheticTrial {
  trialId: string;
  workingSetMiB: number | null;
  /** how the trial ended; `precopy` = converged on the first attempt */
  end: 'precopy' | { ladder: string } | 'offline' | { failed: string };
  /** why the first attempt stopped when it did not converge */
  firstAbort?: 'stall' | 'completion-timeout';
  tmtMs?: number;
  dtMs?: number;
  dtQemuMs?: number | null;
  guestGapMs?: number | null;
  mdMiB?: number;
  bandwidthMiBps?: number;
  downtimeLimitMs?: number;
  /** the attempt's tuning (a factorial campaign's levels beyond cap and limit) */
  tuning?: MigrationTuning;
  memory?: TrialRow['memory'];
}

export function syntheticRow(t: SyntheticTrial): TrialRow {
  const bw = (t.bandwidthMiBps ?? 112) * MiB;
  const plan = (index: number, name: string) => ({ index, name, maxBandwidth: bw, downtimeLimitMs: t.downtimeLimitMs ?? 300, autoConverge: null, postcopy: false, ...(t.tuning ? { tuning: t.tuning } : {}) });
  const tmtMs = t.tmtMs ?? 1000;
  const dtMs = t.dtMs ?? 50;
  const md = Math.round((t.mdMiB ?? 100) * MiB);
  const completed = (): AttemptRecord['result'] => ({ status: 'completed', polls: 10, final: { status: 'completed', 'total-time': tmtMs, downtime: t.dtQemuMs ?? dtMs, ram: { transferred: md, remaining: 0, total: 256 * MiB, 'dirty-sync-count': 3, mbps: 900, 'dirty-pages-rate': 0 } } });
  const aborted = (): AttemptRecord['result'] => ({ status: 'aborted', rule: t.firstAbort ?? 'stall', reason: 'synthetic', polls: 40 });
  const attempts: AttemptRecord[] = [];
  let outcome: TrialRow['outcome'];
  if (t.end === 'precopy') {
    attempts.push({ plan: plan(0, 'precopy'), result: completed() });
    outcome = { kind: 'converged', attempt: 0, step: 'precopy' };
  } else if (t.end === 'offline') {
    attempts.push({ plan: plan(0, 'precopy'), result: aborted() }, { plan: { index: 1, name: 'offline' }, result: completed() });
    outcome = { kind: 'offline', afterAttempts: 1 };
  } else if ('ladder' in t.end) {
    attempts.push({ plan: plan(0, 'precopy'), result: aborted() }, { plan: plan(1, t.end.ladder), result: completed() });
    outcome = { kind: 'converged', attempt: 1, step: t.end.ladder };
  } else {
    attempts.push({ plan: plan(0, 'precopy'), result: { status: 'failed', error: t.end.failed, polls: 0 } });
    outcome = { kind: 'failed', reason: t.end.failed };
  }
  const moved = outcome.kind !== 'failed';
  return {
    trialId: t.trialId,
    src: 'hosta',
    dst: 'hostb',
    workingSetMiB: t.workingSetMiB,
    outcome,
    metrics: moved
      ? {
          tmtMs,
          tmtSource: 'qemu',
          dtMs,
          dtSource: 'probe',
          mtMs: tmtMs - dtMs,
          downtime: { qemuMs: t.dtQemuMs === undefined ? dtMs : t.dtQemuMs, probeMs: dtMs, probeLost: 3, probeIntervalMs: 10, guestClockLagMs: t.guestGapMs ?? null },
          md: { totalBytes: md, precopyBytes: null, downtimeBytes: null, postcopyBytes: null },
          throughputMiBps: md / MiB / ((tmtMs - dtMs) / 1000),
          iterations: 3,
          setupMs: 5,
        }
      : null,
    probe: null,
    dirtyRateMiBps: null,
    memory: t.memory ?? null,
    attempts,
  };
}
