/**
 * Every failed attempt of a trial's step, kept in the results store (raw/<trial>/failures.jsonl)
 * with where the VM stood just then. Temporal keeps only the last attempt's error; a trial that
 * fails for good is recorded with its first cause and what the retries met, so "Channel open
 * failure" (what the retries hit after the VM was gone) never hides "QMP connection closed by
 * QEMU" (the VM died mid-migration).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activityContext } from './cancellation.js';
import type { ResultsStore } from '../results/store.js';
import type { StepFailure, TrialActivities, TrialRow } from '../workflows/trial-types.js';
import type { HypervisorBackend } from './backend.js';

const FILE = 'failures.jsonl';

/** The trial a step works for: its own input's trialId, or the VM's owner (set by the trial). */
function trialOf(input: unknown): string | undefined {
  const i = input as { trialId?: string; spec?: { owner?: string } } | undefined;
  return i?.trialId ?? i?.spec?.owner;
}

/** Where the VM is on each host the step touched, in words; a host that cannot be asked says why. */
async function vmWhereabouts(backend: HypervisorBackend, input: unknown): Promise<string | undefined> {
  const i = input as { spec?: { name: string }; host?: string; src?: string; dst?: string };
  const vm = i.spec?.name;
  const hosts = [i.host, i.src, i.dst].filter((h): h is string => !!h);
  if (!vm || hosts.length === 0) return undefined;
  const where = await Promise.all(hosts.map(async (h) => {
    try {
      const s = await Promise.race([backend.vmState(h, vm), new Promise<never>((_, no) => setTimeout(() => no(new Error('no answer within 15 s')), 15_000))]);
      const words = { absent: 'not running (no process)', running: 'running', paused: 'paused', incoming: 'waiting for an incoming migration', 'migrated-away': 'left paused after moving away' }[s.kind];
      return `${words}${s.kind === 'paused' ? ` (${s.reason})` : ''} on ${h}`;
    } catch (err) {
      return `unknown on ${h} (${(err as Error).message.split('\n')[0]})`;
    }
  }));
  return `${vm}: ${where.join(', ')}`;
}

/** this attempt's number; 1 outside an activity (tests) */
const attemptNow = () => activityContext()?.info.attempt ?? 1;

/** The activities, each failure of each one logged for its trial before it is rethrown. */
export function withFailureLog(acts: TrialActivities, store: ResultsStore, backend: HypervisorBackend): TrialActivities {
  const wrapped = { ...acts } as Record<string, (input: unknown) => Promise<unknown>>;
  for (const [step, fn] of Object.entries(acts) as [string, (input: unknown) => Promise<unknown>][]) {
    if (step === 'recordTrial') continue;
    wrapped[step] = async (input: unknown) => {
      try {
        return await fn(input);
      } catch (err) {
        const trialId = trialOf(input);
        if (trialId) {
          const failure: StepFailure = { at: new Date().toISOString(), step, attempt: attemptNow(), error: (err as Error).message ?? String(err) };
          const vm = await vmWhereabouts(backend, input).catch(() => undefined);
          if (vm) failure.vm = vm;
          const dir = store.trialRawDir(trialId);
          await mkdir(dir, { recursive: true });
          await appendFile(join(dir, FILE), `${JSON.stringify(failure)}\n`).catch(() => undefined);
        }
        throw err;
      }
    };
  }
  return wrapped as unknown as TrialActivities;
}

export async function readFailures(store: ResultsStore, trialId: string): Promise<StepFailure[]> {
  try {
    return (await readFile(join(store.trialRawDir(trialId), FILE), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepFailure);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * A failed trial's row with its step failures: the reason leads with the first cause and where the
 * VM was then, and names what the retries met after it.
 */
export function withFirstCause(row: TrialRow, failures: readonly StepFailure[]): TrialRow {
  if (row.outcome.kind !== 'failed' || failures.length === 0) return row;
  const firstLine = (f: StepFailure) => f.error.split('\n')[0]!;
  const first = failures[0]!;
  const cause = firstLine(first);
  const later = [...new Set(failures.slice(1).map(firstLine).filter((e) => e !== cause))];
  const ended = row.outcome.reason;
  const reason = [
    `${first.step} attempt ${first.attempt} failed: ${cause}`,
    ...(first.vm ? [`then ${first.vm}`] : []),
    ...(later.length ? [`the retries met: ${later.join('; ')}`] : []),
    // the workflow's own reason, unless it only repeats an error said above
    ...(![cause, ...later].some((e) => ended.includes(e)) ? [`the trial ended with: ${ended}`] : []),
  ].join('; ');
  return { ...row, outcome: { kind: 'failed', reason }, failures: [...failures] };
}
