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

/** The heartbeat lines' fields, in order; a line still being written (no newline yet) is skipped. */
function completeBeats(log: string): Record<string, string>[] {
  const lines = log.split('\n');
  if (!log.endsWith('\n')) lines.pop();
  return lines.filter((l) => l.startsWith('hb ')).map(fields);
}

/** The last complete heartbeat in the log. */
export function lastBeat(log: string): DirtierBeat | undefined {
  const beats = completeBeats(log);
  for (let i = beats.length - 1; i >= 0; i--) {
    const f = beats[i]!;
    const seq = Number(f.seq), pages = Number(f.pages);
    if (!Number.isFinite(seq) || !Number.isFinite(pages)) continue;
    return { seq, pages, stale: f.stale === undefined ? null : Number(f.stale) };
  }
  return undefined;
}

/**
 * How fast the workload writes pages (MiB/s of writes, not distinct pages), by its own clock:
 * pages and mono_ns of the first and last complete heartbeats at least `minSpanMs` apart.
 * undefined until the log spans that long.
 */
export function writeRateMiBps(log: string, pageSize: number, minSpanMs = 300): number | undefined {
  const beats = completeBeats(log)
    .map((f) => ({ pages: Number(f.pages), monoNs: Number(f.mono_ns) }))
    .filter((b) => Number.isFinite(b.pages) && Number.isFinite(b.monoNs));
  const first = beats[0];
  const last = beats.at(-1);
  if (!first || !last) return undefined;
  const spanS = (last.monoNs - first.monoNs) / 1e9;
  if (spanS * 1000 < minSpanMs) return undefined;
  return ((last.pages - first.pages) * pageSize) / 2 ** 20 / spanS;
}
