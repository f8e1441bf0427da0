/**
 * `virsh domjobinfo --rawstats`: libvirt's job statistics as the typed parameters the API returns
 * (virDomainGetJobStats), one `name: value` per line after `Job type: N`; the machine-readable
 * form of domjobinfo. Translated here into miglab's progress polls and into a record shaped like
 * QMP's query-migrate, so the metrics code reads both backends alike; libvirt's own numbers are
 * kept beside it under `libvirt`.
 */
import type { MigrationProgress } from '../backend.js';
import type { QueryMigrate } from '../qemu/backend.js';

/** virDomainJobType */
export const JOB_TYPE = { none: 0, bounded: 1, unbounded: 2, completed: 3, failed: 4, cancelled: 5 } as const;
/** virDomainJobOperation, the values miglab meets */
export const JOB_OPERATION = { migrationIn: 4, migrationOut: 5 } as const;

export interface JobStats {
  type: number;
  stats: Record<string, number | string>;
}

export function parseJobStats(text: string): JobStats {
  const type = /^Job type:\s*(\d+)/m.exec(text);
  if (!type) throw new Error(`not virsh domjobinfo --rawstats output: ${text.slice(0, 120)}`);
  const stats: Record<string, number | string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_][a-z0-9_]*):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[2]!.trim();
    stats[m[1]!] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return { type: Number(type[1]), stats };
}

const num = (s: JobStats['stats'], k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);

/** A running (or just ended) job as one poll; `status` says what the caller knows of the phase. */
export function progressOfJob(j: JobStats, status: string): MigrationProgress {
  const s = j.stats;
  return {
    status,
    elapsedMs: num(s, 'time_elapsed'),
    transferredBytes: num(s, 'memory_processed'),
    remainingBytes: num(s, 'memory_remaining'),
    totalBytes: num(s, 'memory_total'),
    iterations: num(s, 'memory_iteration'),
    mbps: (num(s, 'memory_bps') * 8) / 1e6,
    dirtyPagesRate: num(s, 'memory_dirty_rate'),
  };
}

/** What libvirt reports that QMP does not, or reports differently. */
export interface LibvirtFigures {
  /**
   * downtime: from the guest's pause on the source to its resume on the destination (libvirt's
   * own timestamps on both hosts). downtimeNet: the same without the time libvirt's control flow
   * takes to pass from source to destination host.
   */
  downtimeMs: number | null;
  downtimeNetMs: number | null;
  timeElapsedMs: number | null;
  timeElapsedNetMs: number | null;
  setupTimeMs: number | null;
  dataProcessedBytes: number | null;
  stats: Record<string, number | string>;
}

/** A completed outgoing job as a query-migrate-shaped record (what deriveMetrics reads). */
export function finalOfJob(j: JobStats): QueryMigrate & { libvirt: LibvirtFigures } {
  const s = j.stats;
  const opt = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : null);
  return {
    status: 'completed',
    'total-time': num(s, 'time_elapsed'),
    downtime: num(s, 'downtime'),
    'setup-time': num(s, 'setup_time'),
    ram: {
      transferred: num(s, 'memory_processed'),
      remaining: num(s, 'memory_remaining'),
      total: num(s, 'memory_total'),
      'dirty-sync-count': num(s, 'memory_iteration'),
      mbps: (num(s, 'memory_bps') * 8) / 1e6,
      'dirty-pages-rate': num(s, 'memory_dirty_rate'),
    },
    libvirt: {
      downtimeMs: opt('downtime'),
      downtimeNetMs: opt('downtime_net'),
      timeElapsedMs: opt('time_elapsed'),
      timeElapsedNetMs: opt('time_elapsed_net'),
      setupTimeMs: opt('setup_time'),
      dataProcessedBytes: opt('data_processed'),
      stats: s,
    },
    // a disk copied with the VM (--copy-storage-all): libvirt's mirror figures; the bytes on the
    // wire are measured by the backend
    ...(opt('disk_total') ? { disk: { storage: 'local' as const, virtualBytes: opt('disk_total'), sentBytes: null, copyMs: null, syncMs: null } } : {}),
  };
}
