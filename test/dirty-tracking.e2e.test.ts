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
   * Boots a guest, dirties `mib` flat out, migrates it live and reads the workload's count of
   * stale writes after a full pass; 'no move' when the migration did not complete.
   */
  async function migrateUnderLoad(backend: QemuBackend, name: string, mib = 16) {
    const spec = labVmSpec(inv, 0, { name, memoryMiB: 256 });
    const guest = guestSsh(inv, spec);
    try {
      await backend.startVm('hosta', spec);
      await waitForPing(guestAddress(spec), 60_000, inv.plan.controllerIf);
      await pool.execShell(guest, `setsid dirtier -m ${mib} -r max -i 10 > /tmp/dirtier.log 2>&1 < /dev/null &`);
      let log = '';
      for (let i = 0; i < 100 && !lastBeat(log); i++) {
        await new Promise((r) => setTimeout(r, 100));
        log = (await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout;
      }
      const result = await backend.migrate('hosta', 'hostb', spec, { maxBandwidth: 112 * MiB, downtimeLimitMs: 300, autoConverge: null });
      if (result.status !== 'completed') return 'no move' as const;
      pool.drop(guest);
      const pass = (mib * MiB) / parseReady(log)!.pageSize;
      // A guest hurt by lost writes may hang or die before it can count them: that is 'guest lost'.
      const read = async () => lastBeat((await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout);
      const at = await read().catch(() => undefined);
      let beat = at;
      for (let i = 0; at && beat && i < 100 && beat.pages - at.pages < pass; i++) {
        await new Promise((r) => setTimeout(r, 100));
        beat = await read().catch(() => undefined);
      }
      if (!at || !beat || beat.pages - at.pages < pass) return 'guest lost' as const;
      return beat.stale!;
    } finally {
      pool.drop(guest);
      for (const h of ['hosta', 'hostb']) await backend.stopVm(h, name);
    }
  }

  it('arrives with no lost writes (16 MiB working set dirtied flat out, 112 MiB/s, 300 ms)', async () => {
    const backend = new QemuBackend({ pool, hosts: inv.hosts });
    expect(await migrateUnderLoad(backend, 'dvm')).toBe(0);
  }, 180_000);

  it('on QEMU before 9.0 without the RAM padding, TCG migration loses writes (the bug the padding avoids)', async (ctx) => {
    const backend = new QemuBackend({ pool, hosts: inv.hosts, dirtySyncPadding: 'off', migrationTimeoutMs: 60_000 });
    if (!needsDirtySyncPadding(await backend.qemuVersion('hosta'))) ctx.skip();
    // Not every migration hits the race: at 16 MiB about one in six did here (a fresh-clone CI run
    // saw three in a row without a hit). A larger working set re-dirtied between more syncs hits
    // it far more often (the paper run before the fix lost every guest at 48 and 64 MiB);
    // six in a row without a hit would be news worth failing on.
    const seen: (number | 'guest lost' | 'no move')[] = [];
    const lost = () => seen.some((s) => s === 'guest lost' || (typeof s === 'number' && s > 0));
    for (let i = 0; i < 6 && !lost(); i++) seen.push(await migrateUnderLoad(backend, 'dvm', 48));
    expect(lost(), `stale writes per migration: ${seen.join(', ')}`).toBe(true);
  }, 600_000);
});
