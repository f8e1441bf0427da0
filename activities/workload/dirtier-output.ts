/** Reading the guest workload's output (lab/guest/dirtier.c): its ready line and heartbeats. */

export interface DirtierReady {
  mib: number;
  pageSize: number;
}

export interface DirtierBeat {
  seq: number;
  pages: number;
  /** writes that found their page older than the workload left it (lost updates); null from a dirtier too old to count */
  stale: number | null;
}

const fields = (line: string): Record<string, string> =>
  Object.fromEntries(line.split(' ').slice(1).map((p) => p.split('=', 2) as [string, string]));

export function parseReady(log: string): DirtierReady | undefined {
  const line = log.split('\n').find((l) => l.startsWith('ready '));
  if (!line) return undefined;
  const f = fields(line);
  const mib = Number(f.mib), pageSize = Number(f.pagesize);
  return Number.isFinite(mib) && Number.isFinite(pageSize) ? { mib, pageSize } : undefined;
}

/** The last complete heartbeat in the log (a line still being written is skipped). */
export function lastBeat(log: string): DirtierBeat | undefined {
  const lines = log.split('\n');
  if (!log.endsWith('\n')) lines.pop();
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (!l.startsWith('hb ')) continue;
    const f = fields(l);
    const seq = Number(f.seq), pages = Number(f.pages);
    if (!Number.isFinite(seq) || !Number.isFinite(pages)) continue;
    return { seq, pages, stale: f.stale === undefined ? null : Number(f.stale) };
  }
  return undefined;
}
