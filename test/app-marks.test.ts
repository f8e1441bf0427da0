/** Where a move's phases fall on the controller's clock (workflows/app-marks.ts): pure, from the attempts' costs. */
import { describe, expect, it } from 'vitest';
import { migrationMarks } from '../workflows/app-marks.js';
import type { AttemptRecord } from '../workflows/trial-types.js';
import { final } from './helpers/trial-stubs.js';

const cost = (startedAt: number, migrationStartedAt?: number, completedAt?: number) => ({ startedAt, endedAt: (completedAt ?? startedAt) + 50, ...(migrationStartedAt !== undefined ? { migrationStartedAt } : {}), ...(completedAt !== undefined ? { completedAt } : {}), transferredBytes: 1, passes: 1, remainingLowBytes: 0 });
const plan = (index: number, name = 'precopy') => ({ index, name, maxBandwidth: 1, downtimeLimitMs: 300, autoConverge: null, postcopy: false });
const completed = (c: ReturnType<typeof cost>, over: Partial<typeof final> = {}) => ({ status: 'completed' as const, final: { ...final, ...over }, polls: 3, cost: c });

describe('a move\'s marks', () => {
  it('precopy from the migration\'s own start (not the command), the resume its total time later, the pause the hypervisor\'s downtime before that', () => {
    const a: AttemptRecord[] = [{ plan: plan(0), result: completed(cost(1_000, 1_700, 9_000), { 'total-time': 7_000, downtime: 40 }) }];
    expect(migrationMarks(a)).toEqual({ commandAt: 1_000, startedAt: 1_700, pausedAt: 8_660, resumedAt: 8_700 });
  });

  it('a ladder: the move starts with its first (aborted) attempt, the pause and resume are the last one\'s', () => {
    const a: AttemptRecord[] = [
      { plan: plan(0), result: { status: 'aborted', rule: 'stall', reason: 'x', polls: 9, cost: cost(1_000, 1_600) } },
      { plan: plan(1, 'downtime limit 1000 ms'), result: completed(cost(30_000, 30_500, 40_000), { 'total-time': 9_000, downtime: 800 }) },
    ];
    expect(migrationMarks(a)).toEqual({ commandAt: 1_000, startedAt: 1_600, pausedAt: 38_700, resumedAt: 39_500 });
  });

  it('offline: paused from its own start; without a poll-derived start, the resume is the completing poll', () => {
    const a: AttemptRecord[] = [
      { plan: plan(0), result: { status: 'aborted', rule: 'stall', reason: 'x', polls: 9, cost: cost(1_000, 1_600) } },
      { plan: { index: 1, name: 'offline' }, result: completed(cost(30_000, undefined, 45_000)) },
    ];
    expect(migrationMarks(a)).toEqual({ commandAt: 1_000, startedAt: 1_600, pausedAt: 30_000, resumedAt: 45_000 });
  });

  it('none for a move that did not complete, or rows without costs', () => {
    expect(migrationMarks([{ plan: plan(0), result: { status: 'aborted', rule: 'stall', reason: 'x', polls: 9, cost: cost(1_000, 1_600) } }])).toBeNull();
    expect(migrationMarks([{ plan: plan(0), result: { status: 'completed', final, polls: 3 } }])).toBeNull();
    expect(migrationMarks([])).toBeNull();
  });
});
