/**
 * On the bed: does a guest's memory arrive whole after a live migration under a dirtying load?
 * The workload counts writes that find their page older than it left it. QEMU before 9.0 loses
 * such writes under TCG unless its RAM size is padded (see needsDirtySyncPadding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { guestSsh, labVmSpec, waitForPing, guestAddress } from '../lab/guest.js';
import { QemuBackend } from '../activities/qemu/backend.js';
import { needsDirtySyncPadding } from '../activities/qemu/vm-spec.js';
import { SshPool } from '../activities/ssh/pool.js';
import { lastBeat, parseReady } from '../activities/workload/dirtier-output.js';

const BED = 'dirt';
const MiB = 2 ** 20;

describe('guest memory across a live migration under load (bed)', () => {
  let inv: BedInventory;
  const pool = new SshPool();

  beforeAll(async () => {
    await labDown(BED);
    inv = await labUp({ bed: BED, subnet: '198.18.10.0/24', hosts: ['hosta', 'hostb'] });
  });

  afterAll(async () => {
    await pool.closeAll();
    await labDown(BED);
  });

  /**
   * Boots a guest, dirties `mib` at `rate` MiB/s, migrates it live and reads the workload's count of
   * stale writes after a full pass. Throws when the migration does not complete or the guest
   * cannot be read after it: neither is a count, so neither may pass for one.
   */
  async function staleWritesAfterMove(backend: QemuBackend, name: string, mib: number, rate: 'max' | number): Promise<number> {
    const spec = labVmSpec(inv, 0, { name, memoryMiB: 256 });
    const guest = guestSsh(inv, spec);
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
      expect(result.status, JSON.stringify(result)).toBe('completed');
      // The guest answers from hostb now: a new connection, once it answers ping.
      pool.drop(guest);
      await waitForPing(guestAddress(spec), 30_000, inv.plan.controllerIf);
      const pass = (mib * MiB) / parseReady(log)!.pageSize;
      const read = async () => lastBeat((await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout);
      const at = await read();
      let beat = at;
      for (let i = 0; i < 100 && beat && beat.pages - at!.pages < pass; i++) {
        await new Promise((r) => setTimeout(r, 100));
        beat = await read();
      }
      if (!at || !beat || beat.pages - at.pages < pass) throw new Error(`the workload did not finish a pass after the move (heartbeats: ${JSON.stringify([at, beat])})`);
      return beat.stale!;
    } finally {
      pool.drop(guest);
      for (const h of ['hosta', 'hostb']) await backend.stopVm(h, name);
    }
  }

  it('arrives with no lost writes (48 MiB working set dirtied at 30 MiB/s, 112 MiB/s, 300 ms)', async () => {
    // Converges after its first pass (about 25 MiB dirtied in it, under the 33.6 MiB threshold).
    // Without the padding the same migration lost the guest outright here (4 of 4): a failure
    // this test would see.
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    expect(await staleWritesAfterMove(backend, 'dvm', 48, 30)).toBe(0);
  }, 180_000);

  it('on QEMU before 9.0 without the RAM padding, TCG migration loses writes (the bug the padding avoids)', async (ctx) => {
    const backend = new QemuBackend({ pool, hosts: inv.hosts, dirtySyncPadding: 'off', migrationTimeoutMs: 60_000 });
    if (!needsDirtySyncPadding(await backend.qemuVersion('hosta')) ) ctx.skip();
    // One migration. Measured on this machine (QEMU 7.2, TCG, 2026-11-30): at 48 MiB flat out,
    // every one of 29 migrations whose guest could be read lost writes (4842–6332 stale writes
    // each); 1 of 30 guests did not answer SSH when read once right after the move, none of 22
    // once read after it answered ping. At 16 MiB only 1 in 6 did, at 4 MiB none of 4: 48 MiB
    // stays above the 33.6 MiB switch-over threshold, so precopy syncs the dirty bitmap several
    // times while the workload's TLB entries are hot — the race's window.
    expect(await staleWritesAfterMove(backend, 'dvm', 48, 'max')).toBeGreaterThan(0);
  }, 180_000);
});
