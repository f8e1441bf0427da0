/**
 * What an activity is told when a retry takes its step over, on the real dev server: a step that
 * goes quiet past its heartbeat timeout keeps running while the server starts a retry, and only
 * learns of it at its next heartbeat. `supersededAttempt()` is what the migration backends check
 * before they touch a migration again (a retried libvirt step once read the abort its superseded
 * attempt had made as a failure); an explicit cancel must not read as superseded.
 */
import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cancelRequested, supersededAttempt } from '../activities/cancellation.js';
import { sleep } from '../lib/sleep.js';
import { startTestTemporal, type TestTemporal } from './helpers/temporal.js';

const workflowsPath = join(import.meta.dirname, 'fixtures', 'workflows', 'quiet-step.ts');

interface Seen {
  attempt: number;
  superseded: boolean;
  cancelRequested: boolean;
}

describe('a superseded activity attempt (real dev server)', () => {
  let t: TestTemporal;
  beforeAll(async () => {
    t = await startTestTemporal('superseded');
  });
  afterAll(async () => t?.close());

  /** heartbeats every 200 ms until told something or 10 s pass; says what it was told */
  async function beatUntilTold(): Promise<Omit<Seen, 'attempt'>> {
    const c = Context.current();
    for (let i = 0; i < 50 && !c.cancellationSignal.aborted; i++) {
      c.heartbeat(i);
      await sleep(200);
    }
    return { superseded: supersededAttempt(), cancelRequested: cancelRequested() };
  }

  it('an attempt whose heartbeat timed out is told it is superseded (not cancelled) while the retry completes the step', async () => {
    const seen: Seen[] = [];
    const { worker, taskQueue } = await t.worker({
      async quietStep({ quietMs }: { quietMs: number }) {
        const c = Context.current();
        const attempt = c.info.attempt;
        if (attempt === 1) {
          c.heartbeat('start');
          // quiet past the 2 s heartbeat timeout, as a blocked command leaves a step (a plain timer)
          await sleep(quietMs);
          seen.push({ attempt, ...(await beatUntilTold()) });
          return attempt;
        }
        seen.push({ attempt, superseded: supersededAttempt(), cancelRequested: cancelRequested() });
        return attempt;
      },
    }, { workflowsPath });
    const result = await worker.runUntil(async () => {
      const r = await t.client.workflow.execute('quietStepWorkflow', { taskQueue, workflowId: t.unique('quiet'), args: [5_000] });
      // let the first attempt finish its loop after the retry has completed
      for (let i = 0; i < 100 && !seen.some((s) => s.attempt === 1); i++) await sleep(100);
      return r;
    });
    expect(result).toBe(2);
    expect(seen.find((s) => s.attempt === 2)).toEqual({ attempt: 2, superseded: false, cancelRequested: false });
    expect(seen.find((s) => s.attempt === 1)).toEqual({ attempt: 1, superseded: true, cancelRequested: false });
  }, 60_000);

  it('an attempt whose workflow is cancelled (the step awaited, as the trial\'s migrations are) is told it is cancelled, not superseded', async () => {
    const seen: Seen[] = [];
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const { worker, taskQueue } = await t.worker({
      async quietStep() {
        started();
        const told = await beatUntilTold();
        seen.push({ attempt: Context.current().info.attempt, ...told });
        throw new CancelledFailure('cancelled');
      },
    }, { workflowsPath });
    await worker.runUntil(async () => {
      const handle = await t.client.workflow.start('quietStepWorkflow', { taskQueue, workflowId: t.unique('cancel'), args: [0] });
      await running;
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      for (let i = 0; i < 100 && seen.length === 0; i++) await sleep(100);
    });
    expect(seen).toEqual([{ attempt: 1, superseded: false, cancelRequested: true }]);
  }, 60_000);
});
