/**
 * Open-loop loads running in this worker, by trial: started before a move and stopped after it,
 * as the ping probe is (issue 17). A load outlives the step that started it; a worker that
 * restarts loses it, and its stop then finds nothing (null), as a probe's would.
 */
import { runOpenLoop, type OpenLoopOptions } from './open-loop-client.js';
import type { AppRequest } from '../../analysis/app-latency.js';

type LoadResult = { requests: AppRequest[]; connectionError: string | null };

const running = new Map<string, { stop: AbortController; done: Promise<LoadResult> }>();

/**
 * Starts the trial's load: the schedule runs until stopped, or for `maxDurationMs` at most.
 * 'already': a retried step found it running.
 */
export function startAppLoad(trialId: string, o: Omit<OpenLoopOptions, 'signal' | 'durationMs'> & { maxDurationMs: number }): 'started' | 'already' {
  if (running.has(trialId)) return 'already';
  const stop = new AbortController();
  const { maxDurationMs, ...rest } = o;
  const done = runOpenLoop({ ...rest, durationMs: maxDurationMs, signal: stop.signal });
  // a load whose connection never opened ends at once; its stop reports the error
  done.catch(() => undefined);
  running.set(trialId, { stop, done });
  return 'started';
}

/** Stops the trial's load and returns every request it made, or null when this worker runs none for it. */
export async function stopAppLoad(trialId: string): Promise<LoadResult | null> {
  const load = running.get(trialId);
  if (!load) return null;
  load.stop.abort();
  try {
    return await load.done;
  } catch (err) {
    return { requests: [], connectionError: (err as Error).message };
  } finally {
    running.delete(trialId);
  }
}
