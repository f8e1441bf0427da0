/**
 * `miglab run` with the Debian guest booted from its disk on the bed: on shared storage (only RAM
 * moves) the baseline and two ramp sizes; with a local disk that moves with the VM (NBD +
 * blockdev-mirror; and through libvirt, --copy-storage-all), the baseline. Every trial writes a file to the disk before the move and reads
 * it back from the disk after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCampaign } from '../campaign/builder.js';
import { runCampaign } from '../cli/run.js';
import { labDown } from '../lab/bed.js';
import { requireDebianGuest } from '../lab/debian-guest.js';
import { stopDevServer, type DevServerOptions } from '../server/dev-server.js';
import type { TrialRow } from '../workflows/trial-types.js';
import { flattenRow } from '../analysis/flatten.js';

const BED = 'disk';
const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'miglab-disk-e2e-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17283, uiPort: 18283, namespace: 'default', dir: join(dir, 'temporal') };

const campaign = (name: string, storage: 'shared' | 'local', workingSetsMiB: number[], hypervisor: 'qemu' | 'libvirt' = 'qemu') =>
  writeCampaign(dir, {
    campaign: name, bed: BED, hypervisor, vm: { memoryMiB: 512, disk: { storage } },
    scenarios: [{ name: 'baseline', kind: 'baseline' }, ...(workingSetsMiB.length ? [{ name: 'ramp', kind: 'dirty-ramp' as const, workingSetsMiB, rate: 20 }] : [])],
    repetitions: 1,
    migration: { bandwidthMiBps: 112, downtimeLimitMs: 300 },
    results: `results-${name}`,
  });

const run = async (file: string) => (await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server }, bedSubnet: '198.18.20.0/24' })).rows;

/** a row as trials.csv has it */
const flat = (r: TrialRow) => flattenRow(r, { campaign: r.trialId.split('/')[0]!, trials: [], hypervisor: 'qemu' });

describe('VMs with disks: the Debian guest on the bed', () => {
  beforeAll(async () => {
    requireDebianGuest(); // built by scripts/setup.sh
    await labDown(BED);
  });

  afterAll(async () => {
    await labDown(BED);
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  const moved = (r: TrialRow) => r.attempts.at(-1)!.result;

  it('on shared storage: baseline and two ramp sizes move live, only RAM moves, and the file written before each move reads back the same from the disk', async () => {
    const rows = await run(campaign('dshared', 'shared', [16, 64]));
    expect(rows.map((r) => r.trialId).sort()).toEqual(['dshared/baseline/idle/r1', 'dshared/ramp/16MiB/r1', 'dshared/ramp/64MiB/r1']);
    for (const r of rows) {
      expect(r.outcome.kind, r.trialId).toBe('converged');
      expect(r.disk, r.trialId).toMatchObject({ intact: true });
      const result = moved(r);
      // nothing but RAM moved: no disk copy in the record
      expect(result.status === 'completed' && result.final.disk, r.trialId).toBeUndefined();
    }
    for (const r of rows.filter((x) => x.workingSetMiB !== null)) expect(r.integrity, r.trialId).toMatchObject({ staleWrites: 0, fullPass: true });
    expect(rows.map((r) => [flat(r).diskIntact, flat(r).diskMiB])).toEqual([[true, null], [true, null], [true, null]]);
    // what was measured, for the record
    for (const f of rows.map(flat)) console.log(`${f.trialId}: TMT ${f.tmtMs} ms, DT ${f.dtMs} ms (probe), MD ${f.mdMiB?.toFixed(1)} MiB, disk intact ${f.diskIntact}`);
  }, 900_000);

  it('on local storage: the disk moves with the VM, its bytes reported apart from RAM, and the file reads back the same from the destination\'s own copy', async () => {
    const [row] = await run(campaign('dlocal', 'local', []));
    expect(row!.outcome.kind, JSON.stringify([row!.outcome, row!.attempts.map((a) => a.result)]).slice(0, 3000)).toBe('converged');
    expect(row!.disk).toMatchObject({ intact: true });
    const result = moved(row!);
    if (result.status !== 'completed') throw new Error(JSON.stringify(result));
    const disk = result.final.disk!;
    // the mirror walked the whole 2 GiB disk; the wire carried its data (the root filesystem and the
    // 16 MiB witness) and not the zeros
    expect(disk.virtualBytes).toBe(2048 * MiB);
    expect(disk.sentBytes).toBeGreaterThan(300 * MiB);
    expect(disk.sentBytes).toBeLessThan(1536 * MiB);
    expect(disk.copyMs).toBeGreaterThan(0);
    expect(disk.syncMs).toBeGreaterThanOrEqual(0);
    // QEMU's RAM figure does not count the disk
    expect(result.final.ram!.transferred).toBeLessThan(disk.sentBytes!);
    const f = flat(row!);
    console.log(`${f.trialId}: disk ${f.diskMiB?.toFixed(1)} MiB on the wire of ${f.diskVirtualMiB} MiB, copy ${f.diskCopyMs} ms, sync at switchover ${f.diskSyncMs} ms; TMT ${f.tmtMs} ms, DT ${f.dtMs} ms (probe), MD ${f.mdMiB?.toFixed(1)} MiB`);
    expect(f).toMatchObject({ diskIntact: true, diskMiB: disk.sentBytes! / MiB, diskVirtualMiB: 2048, diskCopyMs: disk.copyMs, diskSyncMs: disk.syncMs });
  }, 600_000);

  it('through libvirt, on local storage: virsh migrate --copy-storage-all moves the disk into the destination\'s own copy, the file intact', async () => {
    const [row] = await run(campaign('dlibvirt', 'local', [], 'libvirt'));
    expect(row!.outcome.kind, JSON.stringify([row!.outcome, row!.attempts.map((a) => a.result)]).slice(0, 3000)).toBe('converged');
    expect(row!.disk).toMatchObject({ intact: true });
    const f = flat(row!);
    console.log(`${f.trialId}: disk ${f.diskMiB?.toFixed(1)} MiB on the wire (the last poll's count) of ${f.diskVirtualMiB} MiB (libvirt's figure); TMT ${f.tmtMs} ms, DT ${f.dtMs} ms (probe), MD ${f.mdMiB?.toFixed(1)} MiB`);
    expect(f.diskVirtualMiB).toBe(2048);
    expect(f.diskMiB).toBeGreaterThan(300);
    expect(f.diskMiB).toBeLessThan(1536);
  }, 600_000);
});
