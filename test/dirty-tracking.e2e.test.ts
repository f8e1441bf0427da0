/**
 * On the bed: does a guest's memory arrive whole after a live migration under a dirtying load?
 * The workload counts writes that find their page older than it left it. QEMU before 9.0 loses
 * such writes under TCG unless its RAM size is padded (see needsDirtySyncPadding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { QemuBackend } from '../activities/qemu/backend.js';
import { needsDirtySyncPadding } from '../activities/qemu/vm-spec.js';
import { SshPool } from '../activities/ssh/pool.js';
import { moveUnderLoad } from './helpers/dirty-move.js';

const BED = 'dirt';

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

  it('arrives with no lost writes: its RAM on arrival is the source\'s, page for page, and its workload finds no stale write (48 MiB dirtied at 30 MiB/s, 112 MiB/s, 300 ms)', async () => {
    // Converges after its first pass (about 25 MiB dirtied in it, under the 33.6 MiB threshold).
    const backend = new QemuBackend({ pool, hosts: inv.hosts, arrivePaused: true });
    expect(await moveUnderLoad(inv, pool, backend, { name: 'dvm', mib: 48, rate: 30, readGuest: true })).toEqual({ differingPages: 0, staleWrites: 0 });
  }, 180_000);

  it('on QEMU before 9.0 without the RAM padding, TCG migration loses writes: the RAM that arrives differs from the source\'s (the bug the padding avoids)', async (ctx) => {
    const backend = new QemuBackend({ pool, hosts: inv.hosts, arrivePaused: true, dirtySyncPadding: 'off', migrationTimeoutMs: 60_000 });
    if (!needsDirtySyncPadding(await backend.qemuVersion('hosta'))) ctx.skip();
    // One migration at 48 MiB flat out: above the 33.6 MiB switch-over threshold, so precopy syncs
    // the dirty bitmap several times while the workload's TLB entries are hot (the race's window).
    // The two RAM copies are compared, not the guest: its workload's own count (4842–6332 stale
    // writes a migration, 2026-11-30) needs a guest that survives, and 7 of 40 did not here
    // (2026-12-01: kernel faults, or no answer at all; see docs/testing.md).
    const { differingPages } = await moveUnderLoad(inv, pool, backend, { name: 'dvm', mib: 48, rate: 'max', readGuest: false });
    expect(differingPages).toBeGreaterThan(0);
  }, 180_000);
});
