/**
 * Where a move's phases fall on the controller's clock, for cutting a service's request series
 * (analysis/app-latency.ts). Precopy starts when the migration itself did (the first poll's time
 * less the hypervisor's elapsed time, not the migrate command: its preparations take 0.7 s on the
 * TCG bed); the resume is that start plus the hypervisor's total time (else the poll that saw the
 * move completed, up to one poll interval late); the pause is the resume less the hypervisor's own
 * downtime figure. An offline move is paused from its start.
 *
 * Sandbox code (see workflows/README.md).
 */
import type { MigrationMarks } from '../analysis/app-latency.js';
import type { AttemptRecord } from './trial-types.js';

export function migrationMarks(a: AttemptRecord): MigrationMarks | null {
  const r = a.result;
  if (r.status !== 'completed' || !r.cost) return null;
  const startedAt = r.cost.migrationStartedAt ?? r.cost.startedAt;
  const total = r.final['total-time'];
  const resumedAt = r.cost.migrationStartedAt !== undefined && total ? startedAt + total : (r.cost.completedAt ?? r.cost.endedAt);
  if (a.plan.name === 'offline') return { startedAt, pausedAt: startedAt, resumedAt };
  return { startedAt, pausedAt: Math.max(startedAt, resumedAt - (r.final.downtime ?? 0)), resumedAt };
}
