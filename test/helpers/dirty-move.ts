/**
 * One live migration of a bed guest under a dirtying load, and whether the guest's memory arrived
 * whole (dirty-tracking.e2e). Two witnesses:
 * - the host's: the guest stays paused on arrival (QEMU -S), so the source's RAM (stopped as the
 *   migration left it) and the destination's can be compared page by page; a page that differs is
 *   a write the migration lost. This needs nothing of the guest: a guest that the lost writes
 *   would crash is counted all the same.
 * - the guest's own, when asked: once resumed, its workload counts writes that find their page
 *   older than it left it (stale writes) over a full pass.
 */
import type { BedInventory } from '../../lab/bed.js';
import { guestAddress, guestSsh, labVmSpec, waitForPing } from '../../lab/guest.js';
import type { QemuBackend } from '../../activities/qemu/backend.js';
import { vmFiles, type VmSpec } from '../../activities/qemu/vm-spec.js';
import type { SshPool } from '../../activities/ssh/pool.js';
import { lastBeat, parseReady } from '../../activities/workload/dirtier-output.js';
import { differingPages, guestRamDigests } from './ram-digest.js';

const MiB = 2 ** 20;

export interface MoveOutcome {
  /** pages whose contents differ between the source's RAM and the destination's after the move */
  differingPages: number;
  /** the workload's stale writes over a full pass after the move (when the guest was resumed and read) */
  staleWrites?: number;
}

/**
 * Boots a guest on hosta, dirties `mib` at `rate` MiB/s, migrates it live to hostb (the backend
 * must leave it paused on arrival: `arrivePaused`), compares the two RAM copies and, with
 * `readGuest`, resumes the guest and reads its workload's count after a full pass. Throws when the
 * migration does not complete or the guest cannot be read: neither is a count.
 */
export async function moveUnderLoad(
  inv: BedInventory,
  pool: SshPool,
  backend: QemuBackend,
  opts: { name: string; mib: number; rate: 'max' | number; readGuest: boolean },
): Promise<MoveOutcome> {
  const { name, mib, rate } = opts;
  const spec = labVmSpec(inv, 0, { name, memoryMiB: 256 });
  const guest = guestSsh(inv, spec);
  const host = (n: string) => inv.hosts.find((h) => h.name === n)!;
  try {
    await backend.startVm('hosta', spec);
    await waitForPing(guestAddress(spec), 60_000, inv.plan.controllerIf);
    await pool.execShell(guest, `setsid dirtier -m ${mib} -r ${rate} -i 10 > /tmp/dirtier.log 2>&1 < /dev/null &`);
    let log = '';
    for (let i = 0; i < 100 && !lastBeat(log); i++) {
      await new Promise((r) => setTimeout(r, 100));
      log = (await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout;
    }
    const result = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * MiB, downtimeLimitMs: 300, autoConverge: null });
    if (result.status !== 'completed') throw new Error(`the migration did not complete: ${JSON.stringify(result)}`);
    const [src, dst] = [await backend.vmState('hosta', name), await backend.vmState('hostb', name)];
    if (src.kind !== 'migrated-away' || dst.kind !== 'paused') throw new Error(`expected the guest stopped on hosta and paused on hostb, found ${JSON.stringify({ src, dst })}`);
    const digests = await Promise.all(['hosta', 'hostb'].map((h) => guestRamDigests(pool, host(h).ssh, vmFiles(host(h).runDir, name).pid, spec.memoryMiB)));
    const outcome: MoveOutcome = { differingPages: differingPages(digests[0]!, digests[1]!) };
    if (!opts.readGuest) return outcome;
    await backend.withQmp('hostb', name, (q) => q.execute('cont'));
    try {
      return { ...outcome, staleWrites: await staleWritesAfter(inv, pool, spec, mib, log) };
    } catch (err) {
      // its kernel may have said why on hostb's serial console
      const console = (await pool.exec(host('hostb').ssh, ['cat', backend.consoleFile('hostb', name)], { allowFailure: true })).stdout;
      throw new Error(`after the move: ${(err as Error).message}; on hostb the VM is ${JSON.stringify(await backend.vmState('hostb', name))} and its console ends:\n${console.slice(-2000)}`);
    }
  } finally {
    pool.drop(guest);
    for (const h of ['hosta', 'hostb']) await backend.stopVm(h, name);
  }
}

/** The workload's stale-write count after a full pass over its working set on the destination. */
async function staleWritesAfter(inv: BedInventory, pool: SshPool, spec: VmSpec, mib: number, logBefore: string): Promise<number> {
  const guest = guestSsh(inv, spec);
  // The guest answers from hostb now: a new connection, once it answers ping.
  pool.drop(guest);
  await waitForPing(guestAddress(spec), 30_000, inv.plan.controllerIf);
  const pass = (mib * MiB) / parseReady(logBefore)!.pageSize;
  const read = async () => lastBeat((await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout);
  const at = await read();
  let beat = at;
  for (let i = 0; i < 100 && beat && beat.pages - at!.pages < pass; i++) {
    await new Promise((r) => setTimeout(r, 100));
    beat = await read();
  }
  if (!at || !beat || beat.pages - at.pages < pass) throw new Error(`the workload did not finish a pass (heartbeats: ${JSON.stringify([at, beat])})`);
  return beat.stale!;
}
