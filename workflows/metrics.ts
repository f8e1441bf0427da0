/**
 * A trial's metrics as the paper defines them, from the final query-migrate of the successful
 * attempt and the probes: TMT, DT, MT = TMT − DT, MD and throughput = MD / MT. Every downtime source
 * is kept side by side; DT follows the paper (the ping probe) and falls back to QEMU's figure.
 */
import type { ProbeSummary } from '../activities/probe/ping-output.js';
import type { QueryMigrate } from '../activities/qemu/backend.js';

export interface TrialMetrics {
  tmtMs: number;
  /**
   * where TMT comes from: QEMU's total-time, or the controller's observation when QEMU's figures
   * are impossible (seen on the bed: a completed migration of 149 MiB reporting total-time 0 and
   * downtime 0)
   */
  tmtSource: 'qemu' | 'observed' | 'dom0-clock';
  dtMs: number;
  dtSource: 'probe' | 'qemu';
  mtMs: number;
  downtime: {
    /**
     * the hypervisor's own figure: QEMU's (VM stop to completion, on the source) when miglab drives
     * QEMU, libvirt's `downtime` (paused on the source to resumed on the destination) through libvirt
     */
    qemuMs: number | null;
    /** who reported qemuMs ('none': Xen's xl reports no downtime); absent in rows from before the libvirt backend: QEMU */
    reportedBy?: 'qemu' | 'libvirt' | 'none';
    /** libvirt's `downtime_net`: its downtime less the hand-over of control between the two libvirtds */
    libvirtNetMs?: number | null;
    /** largest gap in the network probe less its interval */
    probeMs: number | null;
    probeLost: number | null;
    probeIntervalMs: number | null;
    /**
     * how far the guest's clock fell behind the controller's across the move: the time the guest
     * did not run, seen from inside (under TCG its clock stands still while it is paused)
     */
    guestClockLagMs: number | null;
  };
  md: {
    totalBytes: number;
    precopyBytes: number | null;
    downtimeBytes: number | null;
    postcopyBytes: number | null;
    /** who counted totalBytes: the hypervisor, or (Xen) the source's interface counter or the save image's size */
    source?: 'hypervisor' | 'interface-counter' | 'save-image';
  };
  /** MD over the time QEMU was sending (TMT less its own downtime; MT when QEMU gives none) */
  throughputMiBps: number;
  iterations: number;
  setupMs: number;
}

export function deriveMetrics(final: QueryMigrate, probe?: ProbeSummary, guestClockLagMs?: number, observedTotalMs?: number): TrialMetrics {
  if (final.status !== 'completed') throw new Error(`metrics need a completed migration, got status ${final.status ?? 'none'}`);
  // A migration that sent data cannot have taken no time: then QEMU's timings are not to be trusted.
  const qemuTimesBogus = !(final['total-time']! > 0) && (final.ram?.transferred ?? 0) > 0;
  // The Xen backend measures from outside: dom0's clock around `xl`, the interface's byte counter.
  const xen = final.xen;
  const tmtSource = xen ? 'dom0-clock' : qemuTimesBogus && observedTotalMs !== undefined ? 'observed' : 'qemu';
  const tmtMs = tmtSource === 'observed' ? observedTotalMs! : (final['total-time'] ?? 0);
  const qemuMs = qemuTimesBogus ? null : (final.downtime ?? null);
  const probeMs = probe ? probe.downtimeMs : null;
  const dtSource = probeMs !== null ? 'probe' : 'qemu';
  const dtMs = probeMs ?? qemuMs ?? 0;
  const mtMs = Math.max(0, tmtMs - dtMs);
  const totalBytes = final.ram?.transferred ?? 0;
  // The libvirt backend keeps libvirt's own figures beside the query-migrate-shaped ones.
  const libvirt = (final as { libvirt?: { downtimeNetMs: number | null } }).libvirt;
  return {
    tmtMs,
    tmtSource,
    dtMs,
    dtSource,
    mtMs,
    downtime: {
      qemuMs,
      probeMs,
      probeLost: probe?.lost ?? null,
      probeIntervalMs: probe?.intervalMs ?? null,
      guestClockLagMs: guestClockLagMs ?? null,
      ...(libvirt ? { reportedBy: 'libvirt' as const, libvirtNetMs: libvirt.downtimeNetMs } : { reportedBy: xen ? ('none' as const) : ('qemu' as const) }),
    },
    md: {
      totalBytes,
      precopyBytes: final.ram?.['precopy-bytes'] ?? null,
      downtimeBytes: final.ram?.['downtime-bytes'] ?? null,
      postcopyBytes: final.ram?.['postcopy-bytes'] ?? null,
      source: xen ? (xen.mode === 'offline' ? 'save-image' : 'interface-counter') : 'hypervisor',
    },
    throughputMiBps: throughputMiBps(totalBytes, tmtMs, qemuMs, mtMs),
    iterations: final.ram?.['dirty-sync-count'] ?? 0,
    setupMs: final['setup-time'] ?? 0,
  };
}

/**
 * Migration throughput: bytes over the time the stream was flowing. TMT less QEMU's downtime, not
 * MT: the probe's downtime can include the network's reconvergence after the move and, on the
 * bed, once nearly equalled TMT (1568 of 1571 ms: MT 2.7 ms gave "35,206 MiB/s").
 */
/**
 * The cost of the whole move over every attempt, from the attempts' own clocks: null unless the
 * VM moved and every attempt reported its cost.
 */
export function endToEndCost(attempts: readonly { result: { status: string; cost?: { startedAt: number; endedAt: number; transferredBytes: number } } }[]): { totalMs: number; totalBytes: number; attempts: number } | null {
  const last = attempts.at(-1);
  if (!last || last.result.status !== 'completed' || attempts.some((a) => !a.result.cost)) return null;
  const costs = attempts.map((a) => a.result.cost!);
  return { totalMs: costs.at(-1)!.endedAt - costs[0]!.startedAt, totalBytes: costs.reduce((n, c) => n + c.transferredBytes, 0), attempts: attempts.length };
}

export function throughputMiBps(totalBytes: number, tmtMs: number, qemuDowntimeMs: number | null, mtMs: number): number {
  const sendingMs = qemuDowntimeMs !== null && tmtMs > qemuDowntimeMs ? tmtMs - qemuDowntimeMs : mtMs;
  return sendingMs > 0 ? totalBytes / 2 ** 20 / (sendingMs / 1000) : 0;
}
