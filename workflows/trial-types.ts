/** The trial workflow's contract with its activities: small, serialisable values only. */
import type { VmSpec } from '../activities/qemu/vm-spec.js';
import type { QueryMigrate } from '../activities/qemu/backend.js';
import type { PostcopySwitch } from '../activities/backend.js';
import type { ProbeSummary } from '../activities/probe/ping-output.js';
import type { TrialMetrics } from './metrics.js';
import type { LadderStep } from '../campaign/spec.js';
import type { AttemptPlan } from './ladder.js';
import type { TrialProvenance } from '../results/provenance.js';
import type { RecordedPrediction } from './trial-prediction.js';
import type { AppDowntime, MigrationMarks } from '../analysis/app-latency.js';

export interface WorkloadSpec {
  workingSetMiB: number;
  rate: 'max' | number;
  pattern: 'seq' | 'random';
}

/**
 * A real service in the guest under an open-loop load from the controller (issue 17): the key set
 * loaded before the move, then requests on a fixed schedule, SETs rewriting the key set in turn.
 */
export interface ServiceLoad {
  service: 'memcached' | 'redis';
  keySetMiB: number;
  valueBytes: number;
  requestsPerS: number;
  setFraction: number;
  timeoutMs: number;
}

/** The service as started in the guest, its key set loaded. */
export interface ServiceStarted {
  /** what the daemon says it is, e.g. "memcached 1.6.18" */
  version: string;
  port: number;
  keys: number;
  loadMs: number;
}

/** What the service's clients saw across the move; the raw series is in the results store (raw/<trial>/trial/app-requests.csv). */
export interface AppSummary extends ServiceLoad {
  version: string;
  /** the marks the series was cut by (controller clock, epoch ms); null when nothing moved */
  marks: MigrationMarks | null;
  downtime: AppDowntime;
  /** the connection broke (the rest of the schedule counts as failed) or never opened */
  connectionError: string | null;
}

/**
 * Migration settings beyond the bandwidth cap and downtime limit, as a campaign's factor levels
 * set them (miglab 0.7 on). Absent or null: the hypervisor's default (off).
 */
export interface MigrationTuning {
  /** XBZRLE: resend only the changed bytes of pages dirtied again, from a cache of this many MiB */
  xbzrleCacheMiB?: number | null;
  /** parallel streams, optionally compressed */
  multifd?: { channels: number; compression: 'none' | 'zlib' | 'zstd' } | null;
  /** throttle the vCPUs from the first attempt while precopy lags */
  autoConverge?: { initialThrottle: number; increment: number; maxThrottle: number; tailslow: boolean } | null;
  /** permit post-copy from the first attempt: switch after this many precopy passes, optionally at its own cap (MiB/s) */
  postcopy?: { afterPasses: number; bandwidthMiBps: number | null } | null;
  /** pause the guest once precopy has made this many passes: the rest moves with it stopped */
  pause?: { afterPasses: number } | null;
  /** stop at the switchover until told to go on (QEMU's pause-before-switchover) */
  pauseBeforeSwitchover?: boolean;
}

export interface TrialInput {
  trialId: string;
  src: string;
  dst: string;
  spec: VmSpec;
  workload: WorkloadSpec | null;
  /** a service under load instead of the dirtier (miglab 0.6 on); workload is then null */
  service?: ServiceLoad;
  migration: {
    maxBandwidth: number;
    downtimeLimitMs: number;
    completionTimeoutSPerGiB: number;
    stallIterations: number;
    /** bandwidth for the offline fallback; by default the live cap */
    fallbackMaxBandwidth?: number;
    /** the trial's factor levels beyond cap and limit (0.7 on) */
    tuning?: MigrationTuning;
  };
  ladder: LadderStep[];
  fallback: 'offline' | 'none';
  probeIntervalMs: number;
  bootTimeoutMs: number;
  /**
   * log in to the guest for its memory use and its clock before and after the move (about 2 s a
   * trial under TCG); false: only what the paper measures. Absent: true.
   */
  measureGuest?: boolean;
  /** what the Temporal UI shows of the trial; searchAttributes: the server has miglab's registered */
  audit?: { campaign: string; scenario: string; hypervisor: string; searchAttributes: boolean };
  /**
   * VM reuse (campaign `vm.reuse: ping-pong`, miglab 0.7 on): the lane's VM, owned by the lane, not
   * the trial. fresh: booted for this trial (else it runs on src, moved there by the lane's last
   * trial); keep: once moved, leave it running on dst for the next trial (its workloads stopped).
   * Absent: the trial boots its own VM and stops it at its end.
   */
  vm?: VmReuse;
}

export interface VmReuse {
  owner: string;
  fresh: boolean;
  keep: boolean;
}

/**
 * What an attempt cost, whatever its end: controller clock (epoch ms) from the migrate command to
 * the attempt's end (completion, or the abort taking effect), and what its last poll said. Absent
 * in rows recorded before miglab 0.3.
 */
export interface AttemptCost {
  startedAt: number;
  endedAt: number;
  /**
   * when the migration itself started, by the first poll's time less the hypervisor's elapsed time
   * (the migrate command's preparations come before it: 0.7 s on the TCG bed), and, completed, when
   * the poll that saw it completed was answered (miglab 0.6 on)
   */
  migrationStartedAt?: number;
  completedAt?: number;
  /** bytes sent by this attempt (the most any poll counted; a completed attempt's final count) */
  transferredBytes: number;
  passes: number;
  /** the lowest remaining-bytes figure any poll saw: how close it came */
  remainingLowBytes: number | null;
}

/** One migration attempt as the activity reports it; its raw polls are in the results store. */
export type AttemptResult = AttemptResultBody & { cost?: AttemptCost };

type AttemptResultBody =
  | {
      status: 'completed';
      final: QueryMigrate;
      polls: number;
      /**
       * the migration's duration as the controller saw it: from its start (first poll's time less
       * QEMU's elapsed) to the poll that saw it completed; at most one poll interval long
       */
      observedTotalMs?: number;
      /** set when the attempt switched to post-copy: the guest ran on the destination from then on */
      postcopy?: PostcopySwitch;
    }
  | { status: 'aborted'; rule: 'completion-timeout' | 'stall'; reason: string; polls: number }
  | { status: 'failed'; error: string; polls: number };

/**
 * The whole move, over every attempt: from the first migrate command until the VM ran on the
 * destination (the last attempt's end), and the bytes all attempts sent — beside the final
 * attempt's TMT and MD, which is what the paper reports. Absent when an attempt's cost is unknown.
 */
export interface EndToEndCost {
  totalMs: number;
  totalBytes: number;
  attempts: number;
}

export interface AttemptRecord {
  plan: AttemptPlan | { index: number; name: 'offline' };
  result: AttemptResult;
}

/** How a trial ended: exactly one of these, never a bag of flags. */
export type TrialOutcome =
  | { kind: 'converged'; attempt: number; step: string }
  | { kind: 'offline'; afterAttempts: number }
  | { kind: 'failed'; reason: string };

/** The paper's five memory categories, largest to smallest when all is well (MiB). */
export interface MemoryCategories {
  configuredMiB: number;
  /** resident size of the VM's QEMU process on the source host (includes QEMU's own overhead) */
  allocatedOnHostMiB: number | null;
  /** MemTotal − MemAvailable inside the guest */
  usedInGuestMiB: number | null;
  /** MemTotal − MemFree inside the guest: pages in use, caches included; absent before miglab 0.4 */
  notFreeInGuestMiB?: number | null;
  /** the guest's RAM that is not zero, counted on the host: what a first precopy pass sends in full (miglab 0.4 on) */
  nonZeroOnHostMiB?: number | null;
  /** what the workload allocated: its working set */
  requestedMiB: number;
  /** what QEMU saw dirtied in one second (calc-dirty-rate), at most the working set */
  dirtiedMiB: number | null;
}

/**
 * Whether the guest's memory arrived whole: the workload counts writes that find their page older
 * than it left it. Taken after the move, once the workload has written a working set's worth of
 * pages more; any stale write means the hypervisor lost a dirty page.
 */
export interface WorkloadIntegrity {
  staleWrites: number;
  /** writes the workload made after the move before this was read */
  writesAfterMove: number;
  /** false when the workload wrote less than its working set before the wait ran out */
  fullPass: boolean;
}

/**
 * Whether the guest's disk arrived whole: a file of random bytes is written and synced before the
 * move, and its SHA-256 is read again after it with the guest's page cache dropped (so from the disk).
 */
export interface DiskIntegrity {
  sha256Before: string;
  sha256After: string;
  intact: boolean;
}

export interface GuestClockReading {
  /** controller clock minus guest clock, ms */
  offsetMs: number;
  /** the SSH round trip the reading took: its uncertainty is half of it */
  rttMs: number;
}

/** One failed attempt of a trial's step, as the activity met it (raw/<trial>/failures.jsonl). */
export interface StepFailure {
  at: string;
  step: string;
  attempt: number;
  error: string;
  /** where the VM was on the step's hosts just after it failed, in words */
  vm?: string;
}

export interface TrialRow {
  trialId: string;
  src: string;
  dst: string;
  workingSetMiB: number | null;
  outcome: TrialOutcome;
  metrics: TrialMetrics | null;
  probe: ProbeSummary | null;
  /** MiB/s as QEMU's calc-dirty-rate measured it before migrating */
  dirtyRateMiBps: number | null;
  memory: MemoryCategories | null;
  /** absent in rows recorded before miglab checked it */
  integrity?: WorkloadIntegrity | null;
  /** a service trial: what its clients saw (absent otherwise; null: the load's results were lost with its worker) */
  app?: AppSummary | null;
  /** a VM with a disk: did the file written before the move read back the same from the disk after it (absent: no disk, or before miglab 0.5) */
  disk?: DiskIntegrity | null;
  attempts: AttemptRecord[];
  /** a failed trial's step failures, first cause first (absent when none was logged) */
  failures?: StepFailure[];
  /** a trial that moved its VM: what the move cost over all its attempts (miglab 0.3 on) */
  endToEnd?: EndToEndCost | null;
  /** what the model predicted from the trial's own measurements before it migrated (miglab 0.4 on; null: an input was missing) */
  prediction?: RecordedPrediction | null;
  /** the idle guest's dirty rate (calc-dirty-rate before the workload started; miglab 0.4 on) */
  idleDirtyRateMiBps?: number | null;
  /** how fast the workload wrote pages, by its own clock (miglab 0.4 on) */
  workloadWriteMiBps?: number | null;
  /** a lane that reuses its VM: whether this trial booted it (absent: every trial boots its own) */
  vm?: { fresh: boolean };
  /** which miglab, campaign file and hosts produced the row (added when it is recorded; miglab 0.3 on) */
  provenance?: TrialProvenance;
}

export interface TrialActivities {
  /** booted: false when the VM already ran there for its owner (a reused VM; miglab 0.7 on, void before) */
  prepareVm(input: { host: string; spec: VmSpec }): Promise<{ booted: boolean } | void>;
  waitForGuest(input: { spec: VmSpec; timeoutMs: number }): Promise<number>;
  /** writeMiBps: how fast the workload writes pages, by its own clock (null: it did not say in time); void before miglab 0.4 */
  startWorkload(input: { spec: VmSpec; workload: WorkloadSpec }): Promise<{ writeMiBps: number | null } | void>;
  measureDirtyRate(input: { host: string; vm: string }): Promise<number | null>;
  startProbe(input: { trialId: string; spec: VmSpec; intervalMs: number }): Promise<void>;
  /** awaitReplyMs: after a completed move, let the probe run until the guest answers again (at most this long) */
  stopProbe(input: { trialId: string; intervalMs: number; awaitReplyMs?: number }): Promise<ProbeSummary | null>;
  liveMigrate(input: { trialId: string; src: string; dst: string; spec: VmSpec; plan: AttemptPlan; rules: { completionTimeoutSPerGiB: number; stallIterations: number } }): Promise<AttemptResult>;
  offlineMigrate(input: { trialId: string; attempt: number; src: string; dst: string; spec: VmSpec; maxBandwidth: number }): Promise<AttemptResult>;
  /** inGuest false: configured and host-side only, no login to the guest (usedInGuestMiB null) */
  memoryCategories(input: { host: string; spec: VmSpec; requestedMiB: number; dirtyRateMiBps: number | null; inGuest?: boolean }): Promise<MemoryCategories>;
  guestClock(input: { spec: VmSpec }): Promise<GuestClockReading>;
  workloadIntegrity(input: { spec: VmSpec }): Promise<WorkloadIntegrity | null>;
  /** a VM with a disk: writes the witness file and returns its SHA-256 (miglab 0.5 on) */
  writeDiskWitness(input: { spec: VmSpec }): Promise<string>;
  /** reads the witness back from the disk after the move (miglab 0.5 on) */
  checkDiskWitness(input: { spec: VmSpec; sha256: string }): Promise<DiskIntegrity>;
  /** starts the service in the guest (a retried step restarts it) and loads its key set from the controller (miglab 0.6 on) */
  startService(input: { spec: VmSpec; service: ServiceLoad }): Promise<ServiceStarted>;
  /** starts the open-loop load on this worker; it runs until stopAppLoad (miglab 0.6 on) */
  startAppLoad(input: { trialId: string; spec: VmSpec; service: ServiceLoad; port: number }): Promise<void>;
  /** stops the load, keeps its series in the results store and reduces it by the marks; null: this worker ran no load for the trial */
  stopAppLoad(input: { trialId: string; service: ServiceLoad; version: string; marks: MigrationMarks | null }): Promise<AppSummary | null>;
  /** 'duplicate': the trial had a different row already; this one is kept beside it, and verify reports it */
  recordTrial(input: { trialId: string; row: TrialRow }): Promise<'recorded' | 'already-recorded' | 'duplicate'>;
  /** keepOn: leave the VM running on this host for the next trial (its workloads stopped); stop it everywhere else */
  teardown(input: { trialId: string; hosts: string[]; spec: VmSpec; keepOn?: string }): Promise<void>;
}
