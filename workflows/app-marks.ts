/**
 * Where a move's phases fall on the controller's clock, for cutting a service's request series
 * (analysis/app-latency.ts). The move starts with its first attempt (a ladder's aborted attempts
 * are part of what the clients live through), when that migration itself did (the first poll's time
 * less the hypervisor's elapsed time, not the migrate command: its preparations take 0.7 s on the
 * TCG bed); the resume is that start plus the hypervisor's total time (else the poll that saw the
 * move completed, up to one poll interval late); the pause is the resume less the hypervisor's own
 * downtime figure. An offline move is paused from its start.
 *
 * Sandbox code (see workflows/README.md).
 */
import type { MigrationMarks } from '../analysis/app-latency.js';
import type { AttemptRecord } from './trial-types.js';

export function migrationMarks(attempts: readonly AttemptRecord[]): MigrationMarks | null {
  const a = attempts.at(-1);
  const r = a?.result;
  if (!a || r?.status !== 'completed' || !r.cost) return null;
  const ownStart = r.cost.migrationStartedAt ?? r.cost.startedAt;
  const total = r.final['total-time'];
  const resumedAt = r.cost.migrationStartedAt !== undefined && total ? ownStart + total : (r.cost.completedAt ?? r.cost.endedAt);
  const first = attempts[0]!.result.cost ?? r.cost;
  const startedAt = Math.min(ownStart, first.migrationStartedAt ?? first.startedAt);
  const commandAt = Math.min(startedAt, first.startedAt);
  if (a.plan.name === 'offline') return { commandAt, startedAt, pausedAt: ownStart, resumedAt };
  return { commandAt, startedAt, pausedAt: Math.max(ownStart, resumedAt - (r.final.downtime ?? 0)), resumedAt };
}
