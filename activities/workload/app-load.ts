/**
 * Open-loop loads running in this worker, by trial: started before a move and stopped after it,
 * as the ping probe is (issue 17). A load outlives the step that started it; a worker that
 * restarts loses it, and its stop then finds nothing (null), as a probe's would.
 */
import { runOpenLoop, type OpenLoopOptions } from './open-loop-client.js';
import type { AppRequest } from '../../analysis/app-latency.js';

type LoadResult = { requests: AppRequest[]; connectionError: string | null };

const running = new Map<string, { stop: AbortController; done: Promise<LoadResult>; lastOkAt: number | null }>();

/**
 * Starts the trial's load: the schedule runs until stopped, or for `maxDurationMs` at most.
 * 'already': a retried step found it running.
 */
export function startAppLoad(trialId: string, o: Omit<OpenLoopOptions, 'signal' | 'durationMs'> & { maxDurationMs: number }): 'started' | 'already' {
  if (running.has(trialId)) return 'already';
  const stop = new AbortController();
  const { maxDurationMs, ...rest } = o;
  const load = { stop, done: undefined as unknown as Promise<LoadResult>, lastOkAt: null as number | null };
  load.done = runOpenLoop({ ...rest, durationMs: maxDurationMs, signal: stop.signal, onOk: (t) => void (load.lastOkAt = t) });
  // a load whose connection never opened ends at once; its stop reports the error
  load.done.catch(() => undefined);
  running.set(trialId, load);
  return 'started';
}

/**
 * Stops the trial's load and returns every request it made, or null when this worker runs none for
 * it. `untilOkAfter`: first let it run until a reply arrives after that time (controller clock), at
 * most `maxWaitMs`: after a long pause a TCP client's retransmissions back off, and its service
 * answers again seconds after the guest does — part of what its clients saw.
 */
export async function stopAppLoad(trialId: string, o: { untilOkAfter?: number; maxWaitMs?: number; onWait?: (waitedMs: number) => void } = {}): Promise<LoadResult | null> {
  const load = running.get(trialId);
  if (!load) return null;
  if (o.untilOkAfter !== undefined) {
    let ended = false; // a load whose connection broke will not be answered again
    void load.done.then(() => void (ended = true), () => void (ended = true));
    for (let waited = 0; !ended && (load.lastOkAt ?? -Infinity) <= o.untilOkAfter && waited < (o.maxWaitMs ?? 60_000); waited += 100) {
      o.onWait?.(waited);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  load.stop.abort();
  try {
    return await load.done;
  } catch (err) {
    return { requests: [], connectionError: (err as Error).message };
  } finally {
    running.delete(trialId);
  }
}
