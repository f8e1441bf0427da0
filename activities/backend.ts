/** What miglab needs from a hypervisor, whichever drives it (QEMU/QMP, libvirt, Xen's xl). */
import type { VmSpec } from './qemu/vm-spec.js';
import type { HostProvenance } from './host-provenance.js';
import type { MigrationTuning } from '../workflows/trial-types.js';

/** Where a VM stands on one host. `absent`: no process for it there. */
export type VmState =
  | { kind: 'absent' }
  | { kind: 'running' }
  | { kind: 'paused'; reason: string }
  /** waiting for, or receiving, an incoming migration */
  | { kind: 'incoming' }
  /** migrated away: the process is left paused after a completed outgoing migration */
  | { kind: 'migrated-away' };

/** A VM as a host lists it; `unreadable`: its process is there but its state could not be read (why). */
export interface ListedVm {
  name: string;
  state: VmState | { kind: 'unreadable'; reason: string };
  owner: string | undefined;
}

export interface MigrationParams {
  /** cap on migration bandwidth, bytes/s */
  maxBandwidth: number;
  /** the longest pause precopy may aim for at switchover, ms */
  downtimeLimitMs: number;
  /** throttle the guest's vCPUs while precopy lags (QEMU's auto-converge) */
  autoConverge?: { initialThrottle: number; increment: number } | null;
  /**
   * Permit post-copy: precopy first, then switch once it has made this many passes over memory
   * (libvirt's and Nova's "post-copy after precopy"), or earlier if the watch would give up. After
   * the switch the guest runs on the destination and the migration can no longer be cancelled.
   */
  postcopy?: { afterPasses: number } | null;
  /** XBZRLE, multifd, auto-converge's limits: a trial's factor levels (absent: the hypervisor's defaults) */
  tuning?: MigrationTuning;
}

/** When and why a migration switched to post-copy. */
export interface PostcopySwitch {
  atMs: number;
  atPass: number;
  reason: string;
}

/** One poll of a running migration, hypervisor-neutral. */
export interface MigrationProgress {
  status: string;
  elapsedMs: number;
  transferredBytes: number;
  remainingBytes: number;
  totalBytes: number;
  iterations: number;
  mbps: number;
  dirtyPagesRate: number;
}

export type MigrationResult =
  | { status: 'completed'; totalTimeMs: number; downtimeMs: number; setupTimeMs: number; transferredBytes: number; iterations: number; polls: number; final: Record<string, unknown>; postcopy?: PostcopySwitch }
  | { status: 'failed' | 'cancelled'; error: string; polls: number; last: MigrationProgress | undefined; postcopy?: PostcopySwitch };

export interface MigrationWatch {
  onProgress?: (p: MigrationProgress) => void;
  /**
   * The step is alive: every poll, with progress or without (e.g. records not written yet), and
   * every command of setting the migration up, saying what it is doing. A step that goes quiet
   * for its heartbeat timeout is given to a retry while it still runs.
   */
  onPoll?: (doing?: string) => void;
  /**
   * The server no longer takes this attempt's result: a retry has the step (this one's heartbeat
   * timed out) and follows the migration now, or the workflow ended; this one must stop without
   * touching the migration.
   */
  superseded?: () => boolean;
  /** a reason to give up, or undefined to carry on */
  abortIf?: (p: MigrationProgress) => string | undefined;
  /** the step was cancelled: cancel the migration now (never switch it to post-copy instead) */
  cancelled?: () => boolean;
}

/** Thrown by a superseded attempt before it would touch the migration again. */
export class SupersededAttempt extends Error {
  constructor(what: string) {
    super(`the server no longer takes this attempt's result (a retry has the step, or its workflow ended): it stops before ${what}`);
    this.name = 'SupersededAttempt';
  }
}

/** Throws SupersededAttempt when the server no longer takes this attempt's result. */
export function leaveIfSuperseded(watch: MigrationWatch, what: string): void {
  if (watch.superseded?.()) throw new SupersededAttempt(what);
}

/**
 * Why to stop following a migration now, if at all: its step was cancelled (then it is cancelled,
 * never switched to post-copy), the watch's rules, or the backend's own time limit since `startedAt`.
 */
export function stopReason(watch: MigrationWatch, p: MigrationProgress, limit: { startedAt: number; timeoutMs: number }): { reason: string; cancelled: boolean } | undefined {
  if (watch.cancelled?.()) return { reason: 'the trial was cancelled', cancelled: true };
  const reason = watch.abortIf?.(p) ?? (Date.now() - limit.startedAt > limit.timeoutMs ? `no completion within ${limit.timeoutMs} ms` : undefined);
  return reason === undefined ? undefined : { reason, cancelled: false };
}

export interface HypervisorBackend {
  /** Starts the VM on a host (or leaves it be if it already runs there). */
  startVm(host: string, spec: VmSpec, opts?: { incoming?: boolean }): Promise<void>;
  vmState(host: string, vm: string): Promise<VmState>;
  /**
   * Live-migrates; resumes following a migration already under way instead of starting another.
   * When abortIf returns a reason, the migration is cancelled and the VM keeps running on the source.
   */
  migrate(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch?: MigrationWatch): Promise<MigrationResult>;
  /** Offline migration: pause on the source, move the state, resume on the destination. */
  migrateOffline(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch?: MigrationWatch): Promise<MigrationResult>;
  /**
   * Stops the VM on a host and removes what it left there; does nothing where it is absent. With
   * an owner, only if it was started for that owner (else 'not-ours').
   */
  stopVm(host: string, vm: string, opts?: { owner?: string }): Promise<'stopped' | 'not-ours'>;
  /** The guest's dirty rate in MiB/s as the hypervisor samples it, or null where it cannot. */
  measureDirtyRate(host: string, vm: string, seconds?: number): Promise<number | null>;
  /** Every VM the backend knows on a host, with its state and the trial it was started for. */
  listVms(host: string): Promise<ListedVm[]>;
  /**
   * The memory the host gave the VM, MiB: its QEMU process's resident set, or a Xen domain's
   * allocation; null where it cannot be read.
   */
  allocatedMiB(host: string, vm: string): Promise<number | null>;
  /** MiB of the guest's RAM that is not zero (what a first precopy pass sends in full); null where it cannot be counted. */
  nonZeroMiB(host: string, vm: string, memoryMiB: number): Promise<number | null>;
  /** The VM's serial console log on a host. */
  consoleFile(host: string, vm: string): string;
  /** what this host runs trials with (kernel, CPU, hypervisor version, accelerator), for the record */
  describeHost(host: string): Promise<HostProvenance>;
  /**
   * Refuses (HostUnhealthy) a host that must not start a trial now, e.g. a Xen dom0 whose toolstack
   * does not answer or whose processes crashed since it was last found healthy. A backend with
   * nothing to check has no such method.
   */
  checkHealth?(host: string): Promise<void>;
}

/** A host unfit to start a trial: the trial fails with this reason, not retried (retrying does not mend a host). */
export class HostUnhealthy extends Error {
  override readonly name = 'HostUnhealthy';
}

/** The host of this name among a backend's hosts. */
export function hostNamed<H extends { name: string }>(hosts: readonly H[], name: string): H {
  const h = hosts.find((x) => x.name === name);
  if (!h) throw new Error(`unknown host "${name}" (known: ${hosts.map((x) => x.name).join(', ')})`);
  return h;
}

/**
 * Where a VM stands on a host just before it is started there. A VM of the same name that another
 * trial started (its teardown never ran) is not ours to reuse: it is stopped first.
 */
export async function stateBeforeStart(
  backend: Pick<HypervisorBackend, 'vmState' | 'stopVm'>,
  ownerOf: (host: string, vm: string) => Promise<string | undefined>,
  host: string,
  spec: VmSpec,
): Promise<VmState> {
  const state = await backend.vmState(host, spec.name);
  if (state.kind === 'absent' || spec.owner === undefined || (await ownerOf(host, spec.name)) === spec.owner) return state;
  await backend.stopVm(host, spec.name);
  return { kind: 'absent' };
}
