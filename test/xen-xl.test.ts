/**
 * The Xen backend's reading of `xl` and its domain configuration, against xl's documented command
 * line and output formats (xl(1), xl.cfg(5)); no Xen host here. The backend itself runs against
 * real Xen hosts on the bed in xen.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { domainConfig } from '../activities/xen/domain-config.js';
import { parseMigrationRecord, parseSegfaultCount, recordCommand, processDeath, segfaultSummary, segfaultsBetween } from '../activities/xen/backend.js';
import { migrateErrors, parseXlList, vmNames, xenVmState } from '../activities/xen/xl-output.js';
import { deriveMetrics } from '../workflows/metrics.js';
import type { VmSpec } from '../activities/qemu/vm-spec.js';
import type { QueryMigrate } from '../activities/qemu/backend.js';

const LIST = `Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0   384     2     r-----      52.9
mvm0                                         4    96     1     -b----      15.8
mvm1--incoming                               5   256     0     --p---       0.0
mvm2                                         6   256     1     ---sc-       9.4
mvm3--migratedaway                           7   256     1     --ps--       3.1
`;

const spec: VmSpec = { name: 'mvm0', memoryMiB: 128, vcpus: 1, kernel: '/shared/guest/vmlinuz', initrd: '/shared/guest/initrd.img', guestCidr: '198.18.0.100/24', mac: '52:54:00:12:00:64', migrationPort: 49152, owner: 'c/baseline/idle/r1' };

describe('xl list, as xl(1) prints it (no Xen host)', () => {
  it('reads every domain row and skips the header', () => {
    const d = parseXlList(LIST);
    expect(d.map((x) => x.name)).toEqual(['Domain-0', 'mvm0', 'mvm1--incoming', 'mvm2', 'mvm3--migratedaway']);
    expect(d[1]).toEqual({ name: 'mvm0', id: 4, memMiB: 96, vcpus: 1, flags: '-b----', cpuSeconds: 15.8 });
  });

  it('maps state flags and migration names to VM states', () => {
    const d = parseXlList(LIST);
    expect(xenVmState(d, 'mvm0')).toEqual({ kind: 'running' });
    expect(xenVmState(d, 'mvm1')).toEqual({ kind: 'incoming' });
    expect(xenVmState(d, 'mvm2')).toEqual({ kind: 'paused', reason: 'crashed' });
    expect(xenVmState(d, 'mvm3')).toEqual({ kind: 'migrated-away' });
    expect(xenVmState(d, 'mvm9')).toEqual({ kind: 'absent' });
  });

  it('lists each VM once, without dom0', () => {
    expect(vmNames(parseXlList(LIST))).toEqual(['mvm0', 'mvm1', 'mvm2', 'mvm3']);
  });

  it('picks the reasons out of a failed xl migrate log', () => {
    const log = [
      'libxl: debug: libxl_domain.c:512:libxl_domain_suspend: Domain 1:ao 0x5: create',
      'xc: error: Failed to enable logdirty: 95,22,0 (22 = Invalid argument): Internal error',
      'xc: error: Save failed (22 = Invalid argument): Internal error',
      'migration sender: libxl_domain_suspend failed (rc=-8)',
      'Migration failed, failed to suspend at sender.',
    ].join('\n');
    const e = migrateErrors(log);
    expect(e).toContain('Failed to enable logdirty');
    expect(e).toContain('Migration failed, failed to suspend at sender.');
    expect(e).not.toContain('debug');
  });
});

describe('xl domain configuration (xl.cfg(5); no Xen host)', () => {
  it('describes the guest as a PVH domain on the bridge, with the hotplug script and hidden CPU features given', () => {
    const cfg = domainConfig(spec, { bridge: 'xenbr0', vifScript: '/etc/xen/scripts/vif-bed', hideCpuid: ['rdtscp'] });
    expect(cfg).toContain('name = "mvm0"');
    expect(cfg).toContain('type = "pvh"');
    expect(cfg).toContain('memory = 128');
    expect(cfg).toContain('kernel = "/shared/guest/vmlinuz"');
    expect(cfg).toContain('miglab.ip=198.18.0.100/24');
    expect(cfg).toContain('vif = [ "mac=52:54:00:12:00:64,bridge=xenbr0,script=/etc/xen/scripts/vif-bed" ]');
    expect(cfg).toContain('cpuid = "host,rdtscp=0"');
  });

  it("leaves xl's defaults where nothing is given", () => {
    const cfg = domainConfig(spec, { bridge: 'xenbr0' });
    expect(cfg).toContain('vif = [ "mac=52:54:00:12:00:64,bridge=xenbr0" ]');
    expect(cfg).not.toContain('cpuid');
  });
});

describe('a Xen migration as miglab records it (no Xen host)', () => {
  it("reads the background migration's record: exit code, dom0's uptime clock and byte counter", () => {
    const r = parseMigrationRecord('t0=1030112\ntx0=89369632\nt1=1044558\ntx1=107497572\nimage=138375168\nrc=0\nnow=1044600\ntxnow=107500000\n');
    expect(r.rc).toBe(0);
    expect(r.alive).toBe(false);
    expect((r.t1Cs! - r.t0Cs!) * 10).toBe(144460);
    expect(r.tx1! - r.tx0!).toBe(18127940);
    expect(r.imageBytes).toBe(138375168);
    expect(parseMigrationRecord('rc=\nalive=1\n')).toMatchObject({ rc: undefined, alive: true, t0Cs: undefined });
  });

  it('labels its metrics as measured from outside: TMT by dom0 clock, MD by interface counter, no hypervisor downtime', () => {
    const final: QueryMigrate = { status: 'completed', 'total-time': 144460, ram: { transferred: 18127940, remaining: 0, total: 128 * 2 ** 20, 'dirty-sync-count': 0, mbps: 1, 'dirty-pages-rate': 0 }, xen: { mode: 'live', interface: 'eth0', log: '' } };
    const m = deriveMetrics(final, { downtimeMs: 1650, lost: 160, intervalMs: 10, sent: 1000, replies: 840, largestGapMs: 1660, gapStartedAt: undefined });
    expect(m.tmtSource).toBe('dom0-clock');
    expect(m.downtime.reportedBy).toBe('none');
    expect(m.downtime.qemuMs).toBeNull();
    expect(m.dtSource).toBe('probe');
    expect(m.dtMs).toBe(1650);
    expect(m.mtMs).toBe(144460 - 1650);
    expect(m.md.source).toBe('interface-counter');
    const offline = deriveMetrics({ ...final, xen: { mode: 'offline', interface: 'eth0', log: '' } });
    expect(offline.md.source).toBe('save-image');
  });
});

describe('which failed xl migrations are started again (no Xen host)', () => {
  it('a process that died of a signal: yes, named by its line of the log; xl failing the migration itself: no', () => {
    // as seen on the bed when a dom0 process crashed mid-transfer, and the shell's 128+signal exit codes
    const helper = 'libxl: error: libxl_utils.c:515:libxl__report_child_exitstatus: domain 3 save/restore helper [241] died due to fatal signal Broken pipe';
    expect(processDeath(['migration target: Ready to receive domain.', `  ${helper}`, 'Migration failed, resuming at sender.', 'xl exited 1'].join('\n'))).toBe(helper);
    expect(processDeath('xl migrate exited 139: Segmentation fault')).toBe('xl migrate exited 139: Segmentation fault');
    expect(processDeath('xl migrate exited 141')).toBe('xl migrate exited 141');
    expect(processDeath('Inconsistency detected by ld.so: dl-lookup.c: 105: check_match: Assertion failed')).toBe('Inconsistency detected by ld.so: dl-lookup.c: 105: check_match: Assertion failed');
    expect(processDeath('migration target: Domain creation failed')).toBeUndefined();
    expect(processDeath('xl migrate exited 1: migration sender: Target reported failure')).toBeUndefined();
    expect(processDeath('xl exited 13')).toBeUndefined();
    expect(processDeath('migration target: Domain creation failed (code -3).\nMigration failed, resuming at sender.\nxl exited 1')).toBeUndefined();
  });
});

describe("dom0's health around a move: the segfaults its kernel logged (no Xen host)", () => {
  it('reads the count, and says "unknown" rather than 0 when the count itself could not be read', () => {
    expect(parseSegfaultCount('0\n')).toBe(0);
    expect(parseSegfaultCount('12')).toBe(12);
    // seen on the bed: the counting pipeline itself crashed and printed nothing
    expect(parseSegfaultCount('')).toBeNull();
    expect(parseSegfaultCount('Segmentation fault')).toBeNull();
  });

  it('counts what each host logged between two readings, and names only hosts that logged any', () => {
    const between = segfaultsBetween({ hosta: 2, hostb: 0 }, { hosta: 5, hostb: 0 });
    expect(between).toEqual({ hosta: 3, hostb: 0 });
    expect(segfaultSummary(between)).toBe('hosta 3, hostb 0');
    expect(segfaultSummary({ hosta: 0, hostb: 0 })).toBe('');
    // a reading that failed, or a log that went back (dom0 rebooted): unknown, not a count
    expect(segfaultsBetween({ hosta: null, hostb: 4 }, { hosta: 1, hostb: 1 })).toEqual({ hosta: null, hostb: null });
    expect(segfaultSummary({ hosta: null, hostb: 2 })).toBe('hosta ?, hostb 2');
  });
});

describe("reading a background migration's records while it ends (a real shell; cat is a stand-in, named so)", () => {
  /**
   * A `cat` stand-in that lets the migration's script finish right after the first file it reads:
   * the end's clock and byte count appended, then the exit code, as the script does, so the
   * reader's two reads straddle the end — the race a CI run lost.
   */
  function standInCat(d: string, times: string, rc: string): string {
    const bin = join(d, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'cat'), [
      '#!/bin/sh',
      '/bin/cat "$@"; s=$?',
      `if [ ! -e ${d}/ended ]; then touch ${d}/ended; printf 't1=2000\\ntx1=900\\n' >> ${times}; echo 0 > ${rc}; fi`,
      'exit $s',
    ].join('\n'), { mode: 0o755 });
    return bin;
  }

  it('an exit code read means the end figures were read too (read the other way round, a completed move lacked them)', () => {
    const d = mkdtempSync(join(tmpdir(), 'miglab-xenrec-'));
    try {
      const f = { times: join(d, 'migrate.times'), rc: join(d, 'migrate.rc'), pid: join(d, 'migrate.pid') };
      writeFileSync(f.times, 't0=1000\ntx0=100\n');
      writeFileSync(join(d, 'tx_bytes'), '950\n');
      const bin = standInCat(d, f.times, f.rc);
      const read = () => parseMigrationRecord(execFileSync('sh', ['-c', recordCommand(f, join(d, 'tx_bytes'))], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }));
      const during = read();
      // it ended while being read: either not yet seen as ended, or seen whole
      expect(during.rc === undefined || (during.t1Cs !== undefined && during.tx1 !== undefined), JSON.stringify(during)).toBe(true);
      expect(during.t0Cs).toBe(1000);
      const after = read();
      expect(after).toMatchObject({ rc: 0, t0Cs: 1000, tx0: 100, t1Cs: 2000, tx1: 900, txNow: 950 });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
