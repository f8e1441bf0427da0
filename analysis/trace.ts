/**
 * A trial's migration trace from the raw `query-migrate` polls the store keeps per attempt:
 * remaining bytes and dirty rate over time, where each iteration began, where an attempt was
 * aborted and where the fallback started.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

const MiB = 2 ** 20;
const PAGE = 4096;

export interface TracePoint {
  timeS: number;
  attempt: string;
  remainingMiB: number;
  dirtyMiBps: number;
  iteration: number;
}

export interface TraceEvent {
  timeS: number;
  kind: 'iteration' | 'abort' | 'fallback';
  label: string;
}

/** The model's remaining MiB at the start of each pass it predicted, laid on the attempt's own start. */
export interface PredictedPoint {
  timeS: number;
  attempt: string;
  predictedMiB: number;
}

/** One trial's trace, as the report draws it. */
export interface Trace {
  trialId: string;
  points: TracePoint[];
  events: TraceEvent[];
  /** empty for rows recorded without a prediction */
  predicted: PredictedPoint[];
}

interface Poll {
  t?: number;
  elapsedMs?: number;
  remainingBytes?: number;
  iterations?: number;
  dirtyPagesRate?: number;
}

export const hasAbortedAttempt = (r: TrialRow): boolean => r.attempts.some((a) => a.result.status === 'aborted');

/** The trial whose trace tells most: one with an aborted attempt, else the largest working set. */
export function pickTraceTrial(rows: readonly TrialRow[]): TrialRow | undefined {
  const score = (r: TrialRow) => (hasAbortedAttempt(r) ? 1e9 : 0) + (r.workingSetMiB ?? 0) * 10 + r.attempts.length;
  return [...rows].filter((r) => r.attempts.length > 0).sort((a, b) => score(b) - score(a) || a.trialId.localeCompare(b.trialId))[0];
}

/** Reads the trial's polls; attempts without a raw file are skipped (null when none has one). */
export async function readTrace(resultsDir: string, row: TrialRow): Promise<Trace | null> {
  const store = new ResultsStore(resultsDir);
  const points: TracePoint[] = [];
  const events: TraceEvent[] = [];
  const predicted: PredictedPoint[] = [];
  let t0: number | undefined;
  let offsetMs = 0; // for polls without wall-clock stamps: attempts laid end to end
  for (const [i, a] of row.attempts.entries()) {
    let text: string;
    try {
      text = await readFile(join(store.rawDir(row.trialId, i), 'query-migrate.jsonl'), 'utf8');
    } catch {
      continue;
    }
    const polls = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Poll);
    if (polls.length === 0) continue;
    const label = `${i}: ${a.plan.name}`;
    const at = (p: Poll) => {
      if (p.t !== undefined) return (p.t - (t0 ??= p.t - (p.elapsedMs ?? 0))) / 1000;
      return (offsetMs + (p.elapsedMs ?? 0)) / 1000;
    };
    if (a.plan.name === 'offline') events.push({ timeS: at(polls[0]!), kind: 'fallback', label: 'offline fallback' });
    // the model's passes from the attempt's start (its first poll less QEMU's elapsed time)
    const modelled = row.prediction?.result.attempts.find((x) => x.index === i);
    if (modelled && a.plan.name !== 'offline') {
      let t = at(polls[0]!) - (polls[0]!.elapsedMs ?? 0) / 1000 + row.prediction!.inputs.overheads.setupMs / 1000;
      for (const pass of modelled.passes) {
        predicted.push({ timeS: t, attempt: label, predictedMiB: pass.sentMiB });
        t += pass.seconds;
      }
      const lastPass = modelled.passes.at(-1);
      if (lastPass) predicted.push({ timeS: t, attempt: label, predictedMiB: lastPass.dirtiedMiB });
    }
    let iteration = 0;
    for (const p of polls) {
      const timeS = at(p);
      const it = p.iterations ?? iteration;
      if (it > iteration && it > 1) events.push({ timeS, kind: 'iteration', label: `${label} iteration ${it}` });
      iteration = it;
      points.push({ timeS, attempt: label, remainingMiB: (p.remainingBytes ?? 0) / MiB, dirtyMiBps: ((p.dirtyPagesRate ?? 0) * PAGE) / MiB, iteration: it });
    }
    const last = polls.at(-1)!;
    if (a.result.status === 'aborted') events.push({ timeS: at(last), kind: 'abort', label: `attempt ${i} aborted: ${a.result.rule}` });
    offsetMs += (last.elapsedMs ?? 0) + 1000;
  }
  return points.length ? { trialId: row.trialId, points, events, predicted } : null;
}
