/**
 * Every poll of every attempt of a campaign's trials, read from the results store's raw series
 * (raw/<trial>/attempt-N/query-migrate.jsonl): one flat record per poll, for plotting later.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PollRecord {
  trialId: string;
  attempt: number;
  /** controller clock, epoch ms */
  t: number;
  status: string | null;
  elapsedMs: number | null;
  transferredBytes: number | null;
  remainingBytes: number | null;
  totalBytes: number | null;
  iterations: number | null;
  dirtyPagesRate: number | null;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export async function readPolls(resultsDir: string, trialIds: readonly string[]): Promise<PollRecord[]> {
  const out: PollRecord[] = [];
  for (const trialId of trialIds) {
    const dir = join(resultsDir, 'raw', encodeURIComponent(trialId));
    let attempts: string[];
    try {
      attempts = (await readdir(dir)).filter((d) => /^attempt-\d+$/.test(d));
    } catch {
      continue; // no raw series kept for it
    }
    for (const a of attempts.sort((x, y) => Number(x.slice(8)) - Number(y.slice(8)))) {
      const text = await readFile(join(dir, a, 'query-migrate.jsonl'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let p: Record<string, unknown>;
        try {
          p = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // a line cut short by a writer that died
        }
        out.push({
          trialId, attempt: Number(a.slice(8)), t: num(p.t) ?? 0, status: typeof p.status === 'string' ? p.status : null,
          elapsedMs: num(p.elapsedMs), transferredBytes: num(p.transferredBytes), remainingBytes: num(p.remainingBytes), totalBytes: num(p.totalBytes),
          iterations: num(p.iterations), dirtyPagesRate: num(p.dirtyPagesRate),
        });
      }
    }
  }
  return out;
}
