/**
 * Trial rows as flat records, one column per measurement, ready for arquero and CSV. Times in ms,
 * data in MiB. A column is null where the trial has no such value (a failed trial, no probe).
 */
import { tryParseTrialId } from '../workflows/names.js';
import { throughputMiBps } from '../workflows/metrics.js';
import type { CampaignManifest } from '../results/manifest.js';
import type { TrialRow } from '../workflows/trial-types.js';
import { gapPhase } from './app-latency.js';
import { hypervisorSchema } from '../campaign/spec.js';

const MiB = 2 ** 20;

/** How the VM got across, as far as the analysis cares. */
export type Mode = 'live' | 'offline' | 'none';

export interface FlatTrial {
  trialId: string;
  campaign: string;
  hypervisor: string;
  scenario: string;
  /** null for the baseline (no workload) */
  workingSetMiB: number | null;
  repetition: number;
  src: string;
  dst: string;
  outcome: 'converged' | 'offline' | 'failed';
  mode: Mode;
  /** the ladder step that converged ("precopy" is default precopy), null otherwise */
  step: string | null;
  /** did the first attempt (default precopy) converge? null when the trial failed before telling */
  precopyConverged: boolean | null;
  /** why the first attempt did not converge: the abort rule, or the failure */
  precopyEnd: string | null;
  failReason: string | null;
  attempts: number;
  tmtMs: number | null;
  /** the hypervisor's own setup time of the attempt that moved the VM (QEMU's setup-time; null where none is reported) */
  setupMs: number | null;
  /** QEMU's total-time, or the controller's observation where QEMU's was impossible */
  tmtSource: 'qemu' | 'observed' | 'dom0-clock' | null;
  mtMs: number | null;
  dtMs: number | null;
  dtSource: 'probe' | 'qemu' | null;
  /** the hypervisor's own downtime: QEMU's, or libvirt's `downtime` (see dtReportedBy) */
  dtQemuMs: number | null;
  dtReportedBy: 'qemu' | 'libvirt' | 'none' | null;
  /** who counted MD: the hypervisor, or (Xen) the source's interface counter / the save image */
  mdSource: 'hypervisor' | 'interface-counter' | 'save-image' | null;
  /** libvirt's `downtime_net`: its downtime less the hand-over between the two libvirtds */
  dtLibvirtNetMs: number | null;
  dtProbeMs: number | null;
  dtGuestMs: number | null;
  probeIntervalMs: number | null;
  probeLost: number | null;
  mdMiB: number | null;
  mdPrecopyMiB: number | null;
  mdDowntimeMiB: number | null;
  throughputMiBps: number | null;
  /** the whole move over every attempt (first migrate command to the VM running on the destination), and all attempts' bytes */
  e2eMs: number | null;
  e2eMiB: number | null;
  /** the trial's factor levels (e.g. bw32_xb64), null in a campaign without factors */
  levels: string | null;
  /** a campaign that reuses its VMs (vm.reuse: ping-pong): whether this trial's VM was booted for it; null: every trial boots its own */
  vmFresh: boolean | null;
  /** the first attempt's tuning: XBZRLE's cache (null: off), multifd (e.g. "4", "4×zstd"; null: off), auto-converge from the start */
  xbzrleCacheMiB: number | null;
  multifd: string | null;
  autoConvergeLevel: string | null;
  /** post-copy permitted from the start: after how many passes (e.g. "1 pass", "5 passes at 37 MiB/s"); null: not as a level */
  postcopyLevel: string | null;
  /** the dirtier's write rate (MiB/s, or max) and pattern as planned; null without a dirtier */
  writeRate: string | null;
  pattern: string | null;
  /** the VM's memory and vCPUs as the trial's levels set them (null: the campaign's own, vm.memoryMiB and vm.vcpus) */
  vmMemoryMiB: number | null;
  vcpus: number | null;
  /** a pause level: the guest paused once precopy made this many passes (null: not a level); the pass it was paused at */
  pauseLevel: number | null;
  pausedAtPass: number | null;
  /** paused before switchover by the trial's level (null: not a level) */
  pauseBeforeSwitchover: boolean | null;
  /** the pass at which the move switched to post-copy (a level's, or the ladder's rung); null: it did not */
  postcopyAtPass: number | null;
  /** what the tuning did, as QEMU counted it on the move: bytes sent XBZRLE-encoded, its cache misses; bytes sent over multifd channels */
  xbzrleSentMiB: number | null;
  xbzrleCacheMisses: number | null;
  multifdSentMiB: number | null;
  /** provenance of the row (null in rows recorded before miglab 0.3) */
  miglabVersion: string | null;
  accelerator: string | null;
  /** the guest's CPU model (qemu64, a named model, host; Xen's guest type) */
  guestCpu: string | null;
  hypervisorVersion: string | null;
  iterations: number | null;
  dirtyRateMiBps: number | null;
  /** the first attempt's settings: the cliff's prediction is their product */
  bandwidthMiBps: number | null;
  downtimeLimitMs: number | null;
  configuredMiB: number | null;
  allocatedOnHostMiB: number | null;
  usedInGuestMiB: number | null;
  requestedMiB: number | null;
  dirtiedMiB: number | null;
  /** writes the guest's workload found lost after the move (0: memory arrived whole); null: not checked */
  staleWrites: number | null;
  /** the model's prediction, made in the trial before it migrated (null: none recorded, or an input was missing) */
  predVerdict: 'converged' | 'offline' | 'failed' | null;
  /** the attempt the model expected to move the VM live */
  predAttempt: number | null;
  predTmtMs: number | null;
  predDtMs: number | null;
  predMdMiB: number | null;
  predPasses: number | null;
  predCliffMiB: number | null;
  /** the bandwidth the model assumed, and whether it was the cap or a measured rate */
  predBandwidthMiBps: number | null;
  predBandwidthSource: 'cap' | 'measured' | null;
  /** the attempt that moved the VM live (null: offline or not at all) */
  movedAttempt: number | null;
  /** the idle guest's dirty rate and the workload's write rate, measured for the model */
  idleDirtyRateMiBps: number | null;
  workloadWriteMiBps: number | null;
  /**
   * A local disk that moved with the VM (null: no disk, or shared storage where only RAM moves):
   * bytes on the NBD connection (measured on the source host; not in mdMiB), the disk's size as the
   * guest sees it, the copy before the RAM migration started, and its last writes at switchover.
   */
  diskMiB: number | null;
  /** a VM with a disk: the file written before the move read back the same from the disk after it (null: not checked) */
  diskIntact: boolean | null;
  diskVirtualMiB: number | null;
  /** the mirror job's total work (QEMU's, null where not kept): above diskVirtualMiB by the blocks copied twice */
  diskMirroredMiB: number | null;
  diskCopyMs: number | null;
  diskSyncMs: number | null;
  /** what a 1 s ping would have read as downtime: the 10 ms probe thinned, mean over its phases [min, max] */
  dtProbe1sMs: number | null;
  dtProbe1sMinMs: number | null;
  dtProbe1sMaxMs: number | null;
  /**
   * A service trial (null otherwise): the service and its load, and what its clients saw — the
   * longest time without a successful reply (application downtime), failed and timed-out requests,
   * latency from each request's due time per phase of the move, the throughput dip (seconds of
   * full outage at the scheduled rate) and how far the client fell behind its own schedule.
   */
  appService: string | null;
  appVersion: string | null;
  appRequestsPerS: number | null;
  appSetFraction: number | null;
  appValueBytes: number | null;
  appRequests: number | null;
  appFailed: number | null;
  appTimedOut: number | null;
  appDowntimeMs: number | null;
  appP50BeforeMs: number | null;
  appP99BeforeMs: number | null;
  appP50PrecopyMs: number | null;
  appP99PrecopyMs: number | null;
  appP999PrecopyMs: number | null;
  appP50SwitchoverMs: number | null;
  appP50AfterMs: number | null;
  appP99AfterMs: number | null;
  appDipS: number | null;
  /** where the longest gap began: the phase of the move, and how long after the migration's start and its pause */
  appGapPhase: 'before' | 'preparing' | 'precopy' | 'switchover' | 'after' | null;
  appGapAfterStartMs: number | null;
  appGapAfterPauseMs: number | null;
  appMaxSendLagMs: number | null;
  appConnectionError: string | null;
}

/** What a row is grouped and compared under: its scenario, and its factor levels where the campaign varies settings ("ramp bw32_dl100_xb64"). */
export const conditionOf = (r: Pick<FlatTrial, 'scenario' | 'levels'>): string => {
  // the hypervisor level is the row's hypervisor, which every table already keeps apart
  const levels = r.levels?.split('_').filter((l) => !(HYPERVISORS as readonly string[]).includes(l)).join('_');
  return levels ? `${r.scenario} ${levels}` : r.scenario;
};
const HYPERVISORS = hypervisorSchema.options;

const indexes = new WeakMap<readonly { id: string }[], Map<string, CampaignManifest['trials'][number]>>();
/** The manifest's trials by id, built once per manifest (a campaign may have 100,000). */
function planIndex(trials: CampaignManifest['trials']): Map<string, CampaignManifest['trials'][number]> {
  let m = indexes.get(trials);
  if (!m) indexes.set(trials, (m = new Map(trials.map((t) => [t.id, t]))));
  return m;
}

/** A trial's own hypervisor in place of its campaign's in the campaign's label (`qemu (sweep)` → `libvirt (sweep)`). */
const labelAs = (m: { hypervisor: string; backend?: string }, own: string) => (m.backend && m.hypervisor.startsWith(m.backend) ? own + m.hypervisor.slice(m.backend.length) : own);

const passes = (n: number) => `${n} pass${n === 1 ? '' : 'es'}`;

const repetitionOf = (trialId: string) => Number(/\/r(\d+)$/.exec(trialId)?.[1] ?? NaN);
const mib = (b: number | null | undefined) => (b === null || b === undefined ? null : b / MiB);

/**
 * `manifest.hypervisor` is the label the row is compared under in the report; `backend`, the
 * campaign's hypervisor setting. Xen's xl applies no bandwidth cap or downtime limit: a Xen row has
 * none (so no predicted cliff), whatever its plan recorded.
 */
export function flattenRow(row: TrialRow, manifest: Pick<CampaignManifest, 'campaign' | 'trials'> & { hypervisor: string; backend?: string }): FlatTrial {
  const plan = planIndex(manifest.trials).get(row.trialId);
  // a campaign with pairs of several hypervisors: the trial's own level names its hypervisor
  const own = plan?.levels?.hypervisor;
  const backend = own ?? manifest.backend;
  const first = row.attempts[0];
  const firstPlan = first && 'maxBandwidth' in first.plan && backend !== 'xen' ? first.plan : null;
  const firstLive = first && first.plan.name !== 'offline' ? first : undefined;
  // Rows recorded before TMT had a fallback may carry QEMU's impossible total-time 0 (and its
  // downtime 0): those timings are unknown, not zero.
  const bogus = row.metrics !== null && !(row.metrics.tmtMs > 0);
  const m = row.metrics && bogus ? { ...row.metrics, tmtMs: null, mtMs: null, throughputMiBps: null, downtime: { ...row.metrics.downtime, qemuMs: null } } : row.metrics;
  const o = row.outcome;
  const pred = row.prediction?.result;
  const moved = [...row.attempts].reverse().find((a) => a.result.status === 'completed')?.result;
  const disk = moved?.status === 'completed' ? moved.final.disk : undefined;
  const app = row.app ?? null;
  const tuning = firstPlan && 'tuning' in firstPlan ? firstPlan.tuning : undefined;
  // QEMU's own counters of the move (absent where another hypervisor moved it, or nothing moved)
  const qemuFinal = moved?.status === 'completed' && !moved.final.xen ? moved.final : undefined;
  const lat = app?.downtime.latencyMs;
  return {
    trialId: row.trialId,
    campaign: manifest.campaign,
    hypervisor: own ? labelAs(manifest, own) : manifest.hypervisor,
    scenario: plan?.scenario ?? tryParseTrialId(row.trialId)?.scenario ?? '?',
    workingSetMiB: row.workingSetMiB,
    repetition: plan?.repetition ?? repetitionOf(row.trialId),
    src: row.src,
    dst: row.dst,
    outcome: o.kind,
    mode: o.kind === 'converged' ? 'live' : o.kind === 'offline' ? 'offline' : 'none',
    step: o.kind === 'converged' ? o.step : null,
    precopyConverged: !firstLive || firstLive.result.status === 'failed' ? null : firstLive.result.status === 'completed',
    precopyEnd: !firstLive ? null : firstLive.result.status === 'aborted' ? firstLive.result.rule : firstLive.result.status === 'failed' ? 'error' : null,
    failReason: o.kind === 'failed' ? o.reason : null,
    attempts: row.attempts.length,
    tmtMs: m?.tmtMs ?? null,
    setupMs: moved?.status === 'completed' ? (moved.final['setup-time'] ?? null) : null,
    tmtSource: m?.tmtMs != null ? (row.metrics?.tmtSource ?? 'qemu') : null,
    mtMs: m?.mtMs ?? null,
    dtMs: m?.dtMs ?? null,
    dtSource: m?.dtSource ?? null,
    dtQemuMs: m?.downtime.qemuMs ?? null,
    dtReportedBy: m ? (m.downtime.reportedBy ?? 'qemu') : null,
    dtLibvirtNetMs: m?.downtime.libvirtNetMs ?? null,
    dtProbeMs: m?.downtime.probeMs ?? null,
    dtGuestMs: m?.downtime.guestClockLagMs ?? null,
    probeIntervalMs: m?.downtime.probeIntervalMs ?? row.probe?.intervalMs ?? null,
    probeLost: m?.downtime.probeLost ?? null,
    mdMiB: mib(m?.md.totalBytes),
    mdSource: m ? (m.md.source ?? 'hypervisor') : null,
    mdPrecopyMiB: mib(m?.md.precopyBytes),
    mdDowntimeMiB: mib(m?.md.downtimeBytes),
    // recomputed, not read: rows recorded before the definition changed divided by MT
    throughputMiBps: m && m.tmtMs !== null && m.mtMs !== null ? throughputMiBps(m.md.totalBytes, m.tmtMs, m.downtime.qemuMs, m.mtMs) : null,
    miglabVersion: row.provenance ? `${row.provenance.miglab.version}${row.provenance.miglab.commit ? `+${row.provenance.miglab.commit.slice(0, 12)}` : ''}` : null,
    accelerator: row.provenance?.src?.accelerator ?? null,
    guestCpu: row.provenance?.src?.guestCpu ?? null,
    hypervisorVersion: row.provenance?.src?.hypervisorVersion ?? null,
    e2eMs: row.endToEnd?.totalMs ?? null,
    e2eMiB: mib(row.endToEnd?.totalBytes),
    levels: tryParseTrialId(row.trialId)?.levels ?? null,
    vmFresh: row.vm ? row.vm.fresh : null,
    xbzrleCacheMiB: tuning?.xbzrleCacheMiB ?? null,
    multifd: tuning?.multifd ? `${tuning.multifd.channels}${tuning.multifd.compression === 'none' ? '' : `×${tuning.multifd.compression}`}` : null,
    autoConvergeLevel: tuning?.autoConverge ? `${tuning.autoConverge.initialThrottle}+${tuning.autoConverge.increment}` : null,
    postcopyLevel: tuning?.postcopy ? `${passes(tuning.postcopy.afterPasses)}${tuning.postcopy.bandwidthMiBps === null ? '' : ` at ${tuning.postcopy.bandwidthMiBps} MiB/s`}` : null,
    writeRate: plan?.workload ? String(plan.workload.rate) : null,
    pattern: plan?.workload?.pattern ?? null,
    vmMemoryMiB: plan?.levels?.memoryMiB ?? null,
    vcpus: plan?.levels?.vcpus ?? null,
    pauseLevel: tuning?.pause?.afterPasses ?? null,
    pausedAtPass: qemuFinal?.paused?.atPass ?? null,
    pauseBeforeSwitchover: tuning?.pauseBeforeSwitchover ?? null,
    postcopyAtPass: moved?.status === 'completed' ? (moved.postcopy?.atPass ?? null) : null,
    xbzrleSentMiB: qemuFinal ? mib(qemuFinal['xbzrle-cache']?.bytes) : null,
    xbzrleCacheMisses: qemuFinal?.['xbzrle-cache']?.['cache-miss'] ?? null,
    multifdSentMiB: qemuFinal ? mib(qemuFinal.ram?.['multifd-bytes']) : null,
    iterations: m?.iterations ?? null,
    dirtyRateMiBps: row.dirtyRateMiBps,
    bandwidthMiBps: firstPlan && firstPlan.maxBandwidth > 0 ? firstPlan.maxBandwidth / MiB : null, // 0: uncapped (xl)
    downtimeLimitMs: firstPlan ? firstPlan.downtimeLimitMs : null,
    configuredMiB: row.memory?.configuredMiB ?? null,
    allocatedOnHostMiB: row.memory?.allocatedOnHostMiB ?? null,
    usedInGuestMiB: row.memory?.usedInGuestMiB ?? null,
    requestedMiB: row.memory?.requestedMiB ?? null,
    dirtiedMiB: row.memory?.dirtiedMiB ?? null,
    staleWrites: row.integrity?.staleWrites ?? null,
    predVerdict: pred?.verdict ?? null,
    predAttempt: pred?.attempt ?? null,
    predTmtMs: pred?.tmtMs ?? null,
    predDtMs: pred?.dtMs ?? null,
    predMdMiB: mib(pred?.mdBytes),
    predPasses: pred?.passes ?? null,
    predCliffMiB: pred?.cliffMiB ?? null,
    predBandwidthMiBps: pred?.bandwidth.bandwidthMiBps ?? null,
    predBandwidthSource: pred?.bandwidth.source ?? null,
    movedAttempt: o.kind === 'converged' ? o.attempt : null,
    idleDirtyRateMiBps: row.idleDirtyRateMiBps ?? null,
    workloadWriteMiBps: row.workloadWriteMiBps ?? null,
    diskMiB: mib(disk?.sentBytes),
    diskIntact: row.disk?.intact ?? null,
    diskVirtualMiB: mib(disk?.virtualBytes),
    diskMirroredMiB: mib(disk?.mirroredBytes),
    diskCopyMs: disk?.copyMs ?? null,
    diskSyncMs: disk?.syncMs ?? null,
    dtProbe1sMs: row.probe?.coarse?.downtimeMs.mean ?? null,
    dtProbe1sMinMs: row.probe?.coarse?.downtimeMs.min ?? null,
    dtProbe1sMaxMs: row.probe?.coarse?.downtimeMs.max ?? null,
    appService: app?.service ?? null,
    appVersion: app?.version ?? null,
    appRequestsPerS: app?.requestsPerS ?? null,
    appSetFraction: app?.setFraction ?? null,
    appValueBytes: app?.valueBytes ?? null,
    appRequests: app?.downtime.requests ?? null,
    appFailed: app?.downtime.failed ?? null,
    appTimedOut: app?.downtime.timedOut ?? null,
    appDowntimeMs: app ? Math.round(app.downtime.longestGapMs * 1000) / 1000 : null,
    appP50BeforeMs: lat?.before.p50 ?? null,
    appP99BeforeMs: lat?.before.p99 ?? null,
    appP50PrecopyMs: lat?.precopy.p50 ?? null,
    appP99PrecopyMs: lat?.precopy.p99 ?? null,
    appP999PrecopyMs: lat?.precopy.p999 ?? null,
    appP50SwitchoverMs: lat?.switchover.p50 ?? null,
    appP50AfterMs: lat?.after.p50 ?? null,
    appP99AfterMs: lat?.after.p99 ?? null,
    appDipS: app?.downtime.dipSeconds ?? null,
    appGapPhase: app ? gapPhase(app.downtime.gapStartedAt, app.marks) : null,
    appGapAfterStartMs: app?.marks && app.downtime.gapStartedAt !== null ? Math.round(app.downtime.gapStartedAt - app.marks.startedAt) : null,
    appGapAfterPauseMs: app?.marks && app.downtime.gapStartedAt !== null ? Math.round(app.downtime.gapStartedAt - app.marks.pausedAt) : null,
    appMaxSendLagMs: app?.downtime.maxSendLagMs ?? null,
    appConnectionError: app?.connectionError ?? null,
  };
}

/** trials.csv's columns when it has no row to take them from: a failed row has every field, null. */
export const TRIAL_COLUMNS: readonly string[] = Object.keys(
  flattenRow({ trialId: 'c/s/idle/r1', src: 'a', dst: 'b', workingSetMiB: null, outcome: { kind: 'failed', reason: '' }, metrics: null, probe: null, dirtyRateMiBps: null, memory: null, attempts: [] }, { campaign: 'c', trials: [], hypervisor: 'qemu' }),
);
