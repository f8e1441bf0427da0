/**
 * The workers of one process that serve a campaign: one on the campaign's own queue (its workflow),
 * one on each pair's queue (the pair's trials and their steps). They run together and stop
 * together; used as one worker (the first's state, one runUntil).
 */
import type { Worker } from '@temporalio/worker';

export type RunnableWorker = Pick<Worker, 'runUntil' | 'run' | 'getState' | 'shutdown'>;

export class WorkerGroup implements RunnableWorker {
  constructor(private readonly workers: readonly [Worker, ...Worker[]]) {}

  getState(): ReturnType<Worker['getState']> {
    return this.workers[0].getState();
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  run(): Promise<void> {
    return this.together((main) => main.run());
  }

  runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    return this.together((main) => main.runUntil(fnOrPromise));
  }

  /**
   * Runs the others while `main` runs; once it ends, stops them and waits for them. main's own
   * error comes first; else the first of theirs (e.g. a step still running past the force time),
   * so that a caller sees a group stopped with a stuck step as it would one worker.
   */
  private async together<R>(runMain: (main: Worker) => Promise<R>): Promise<R> {
    const [main, ...rest] = this.workers;
    if (rest.length === 0) return runMain(main);
    const others = rest.map((w) => w.run());
    // one of them failing on its own stops the rest: a worker that cannot poll its pair's queue must not leave trials waiting
    let failed: unknown;
    for (const o of others) o.catch((err: unknown) => {
      failed ??= err;
      this.shutdown();
    });
    let value: R;
    try {
      value = await runMain(main);
    } catch (err) {
      this.shutdown();
      await Promise.allSettled(others);
      throw failed ?? err;
    }
    // main has stopped: the others follow
    this.shutdown();
    const settled = await Promise.allSettled(others);
    const error = failed ?? settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
    if (error !== undefined) throw error;
    return value;
  }
}
