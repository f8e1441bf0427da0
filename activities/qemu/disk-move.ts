/**
 * Moving a VM's local disk with it, as libvirt's --copy-storage-all does: the destination's QEMU
 * exports its empty disk over NBD, the source mirrors its disk into that export, and only once
 * the mirror is in step does the RAM migration start. The source stops before switchover
 * (`pause-before-switchover`) so that the mirror can finish while the guest writes nothing; then
 * the migration continues. The disk copy's cost is kept apart from RAM's: QEMU's RAM statistics
 * never count it.
 */
import { sleep } from '../../lib/sleep.js';
import { QmpCommandError, type QmpClient } from '../qmp/client.js';
import { leaveIfSuperseded, type MigrationWatch } from '../backend.js';
import { quote } from '../ssh/shell-quote.js';
import { DISK_NODE, type VmSpec } from './vm-spec.js';

export const MIRROR_JOB = 'disk-move';
/** the source's NBD client node: the destination's disk as the mirror writes it */
export const MIRROR_TARGET = 'disk-move-target';

/** The destination's NBD port for a VM: its migration port + 10000 (both must be open between hosts). */
export const NBD_PORT_OFFSET = 10_000;
export const nbdPort = (spec: Pick<VmSpec, 'migrationPort'>): number => spec.migrationPort + NBD_PORT_OFFSET;

/** What the disk copy of one move cost (the `disk` record of a completed migration's final record). */
export interface DiskMove {
  storage: 'local';
  /** the disk's size as the guest sees it (its block node's virtual size) */
  virtualBytes: number | null;
  /**
   * the mirror job's total work as QEMU counted it (its `len`): the whole disk plus every block the
   * guest wrote again after it was copied, so it exceeds `virtualBytes` by what was copied twice.
   * Absent in records made before miglab kept it apart.
   */
  mirroredBytes?: number | null;
  /**
   * bytes the source's kernel saw acknowledged on the NBD connection (`ss`, measured on the source
   * host): what the disk copy put on the wire; zero ranges travel as commands, not data
   */
  sentBytes: number | null;
  /** from the mirror's start until it was in step: the guest ran on the source all along */
  copyMs: number | null;
  /** the mirror's last writes at switchover, the guest paused: part of the downtime */
  syncMs: number | null;
}

interface BlockJob {
  device: string;
  type: string;
  len: number;
  offset: number;
  ready: boolean;
  status: string;
}

const jobs = (q: QmpClient) => q.execute<BlockJob[]>('query-block-jobs');
const mirrorJob = async (q: QmpClient) => (await jobs(q)).find((j) => j.device === MIRROR_JOB);

/** Runs a QMP command whose "already so" error means the state is the one wanted (a retried step). */
async function idempotent(q: QmpClient, command: string, args: Record<string, unknown>, already: RegExp): Promise<void> {
  try {
    await q.execute(command, args);
  } catch (err) {
    if (!(err instanceof QmpCommandError && already.test(err.desc))) throw err;
  }
}

/** The size of the VM's disk as the guest sees it. */
export async function virtualSize(q: QmpClient): Promise<number> {
  const nodes = await q.execute<{ 'node-name': string; image: { 'virtual-size': number } }[]>('query-named-block-nodes', { flat: true });
  const node = nodes.find((n) => n['node-name'] === DISK_NODE);
  if (!node) throw new Error(`the VM has no disk node ${DISK_NODE}`);
  return node.image['virtual-size'];
}

/** Destination: serve the (inactive, incoming) disk over NBD, writable, on `host:port`. */
export async function exportDisk(q: QmpClient, host: string, port: number): Promise<void> {
  await idempotent(q, 'nbd-server-start', { addr: { type: 'inet', data: { host, port: String(port) } } }, /already running/i);
  await idempotent(q, 'block-export-add', { type: 'nbd', id: DISK_NODE, 'node-name': DISK_NODE, writable: true }, /already in use/i);
}

/** Destination, after the move: stop serving the disk (stopping the server removes its exports). */
export async function unexportDisk(q: QmpClient): Promise<void> {
  await idempotent(q, 'nbd-server-stop', {}, /not running/i);
}

/** Source: close the NBD connection (once its bytes are counted, or the mirror is dropped). */
export const closeMirrorTarget = (q: QmpClient): Promise<void> => idempotent(q, 'blockdev-del', { 'node-name': MIRROR_TARGET }, /find node|not found/i);

/** Source: forget a mirror left by an earlier attempt (its destination is gone), so the guest's disk is its own again. */
export async function dropMirror(q: QmpClient, pollMs: number): Promise<void> {
  if (await mirrorJob(q)) {
    await idempotent(q, 'block-job-cancel', { device: MIRROR_JOB, force: true }, /not found|no active/i);
    while (await mirrorJob(q)) await sleep(pollMs);
  }
  await closeMirrorTarget(q);
}

/**
 * Source: mirror the disk into the destination's export and wait until the copy is in step (the
 * job `ready`); from then on QEMU copies each guest write as it goes. `speed` in bytes/s (the
 * campaign's bandwidth cap). Returns the time it took, or the reason it stopped early.
 */
export async function mirrorUntilReady(
  q: QmpClient,
  o: { host: string; port: number; speed: number; pollMs: number; timeoutMs: number; watch: MigrationWatch },
): Promise<{ ok: true; copyMs: number } | { ok: false; reason: string; cancelled: boolean }> {
  await dropMirror(q, o.pollMs);
  const started = Date.now();
  await q.execute('blockdev-add', { driver: 'nbd', 'node-name': MIRROR_TARGET, server: { type: 'inet', host: o.host, port: String(o.port) }, export: DISK_NODE });
  await q.execute('blockdev-mirror', { 'job-id': MIRROR_JOB, device: DISK_NODE, target: MIRROR_TARGET, sync: 'full', speed: o.speed });
  for (;;) {
    const job = await mirrorJob(q);
    leaveIfSuperseded(o.watch, 'following the disk copy');
    o.watch.onPoll?.('copying the disk');
    if (!job) {
      await dropMirror(q, o.pollMs);
      return { ok: false, reason: 'the disk mirror ended before it was in step (its target failed?)', cancelled: false };
    }
    if (job.ready) return { ok: true, copyMs: Date.now() - started };
    const cancelled = !!o.watch.cancelled?.();
    const stop = cancelled ? 'the trial was cancelled' : Date.now() - started > o.timeoutMs ? `the disk copy was not in step within ${o.timeoutMs} ms` : undefined;
    if (stop) {
      await dropMirror(q, o.pollMs);
      return { ok: false, reason: stop, cancelled };
    }
    await sleep(o.pollMs);
  }
}

/**
 * Source, paused before switchover: complete the mirror. Cancelling a ready mirror finishes it
 * with the target identical to the source (without switching the guest to it). Returns how long
 * the last writes took and the job's total work (QEMU's `len`, which counts re-copied blocks too),
 * or nulls when an earlier attempt already did it.
 */
export async function finishMirror(q: QmpClient, pollMs: number): Promise<{ syncMs: number | null; mirroredBytes: number | null }> {
  const job = await mirrorJob(q);
  if (!job) return { syncMs: null, mirroredBytes: null };
  const started = Date.now();
  await q.execute('block-job-cancel', { device: MIRROR_JOB });
  while (await mirrorJob(q)) await sleep(pollMs);
  return { syncMs: Date.now() - started, mirroredBytes: job.len };
}


/** A shell command that prints the bytes acknowledged on the source's connection to the NBD port. */
export const nbdBytesCommand = (dstIp: string, port: number): string =>
  `ss -tinH state established dst ${quote(dstIp)} dport = ${quote(`:${port}`)} | grep -o 'bytes_acked:[0-9]*' | head -n 1 | cut -d: -f2`;
