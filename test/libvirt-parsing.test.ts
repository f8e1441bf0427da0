/** What miglab reads from virsh: domjobinfo --rawstats (recorded on the bed) and the domain it writes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveMetrics } from '../workflows/metrics.js';
import { domainXml, ownerFromMetadata } from '../activities/libvirt/domain-xml.js';
import { finalOfJob, JOB_TYPE, parseJobStats, progressOfJob } from '../activities/libvirt/job-stats.js';

const completed = readFileSync(join(import.meta.dirname, 'fixtures', 'libvirt', 'domjobinfo-completed.txt'), 'utf8');

describe('virsh domjobinfo --rawstats', () => {
  it('reads the job type and every typed parameter', () => {
    const j = parseJobStats(completed);
    expect(j.type).toBe(JOB_TYPE.completed);
    expect(j.stats).toMatchObject({ operation: 5, time_elapsed: 1031, downtime: 212, downtime_net: 207, memory_processed: 92992886, memory_iteration: 3 });
    expect(Object.keys(j.stats)).toHaveLength(23);
  });

  it('turns a completed job into query-migrate terms and keeps both libvirt downtimes', () => {
    const f = finalOfJob(parseJobStats(completed));
    expect(f).toMatchObject({ status: 'completed', 'total-time': 1031, downtime: 212, 'setup-time': 1, ram: { transferred: 92992886, total: 269877248, 'dirty-sync-count': 3 } });
    expect(f.ram!.mbps).toBeCloseTo((258048650 * 8) / 1e6, 6);
    expect(f.libvirt).toMatchObject({ downtimeMs: 212, downtimeNetMs: 207, timeElapsedNetMs: 1026 });
    const m = deriveMetrics(f);
    expect(m.downtime).toMatchObject({ qemuMs: 212, reportedBy: 'libvirt', libvirtNetMs: 207 });
    expect(m).toMatchObject({ tmtMs: 1031, dtMs: 212, dtSource: 'qemu', iterations: 3 });
  });

  it('reads a running job as a poll, and refuses text that is not domjobinfo', () => {
    const p = progressOfJob(parseJobStats('Job type: 2\n\noperation: 5\ntime_elapsed: 700\nmemory_total: 1000\nmemory_processed: 400\nmemory_remaining: 600\nmemory_iteration: 1\nmemory_bps: 1000000\n'), 'active');
    expect(p).toEqual({ status: 'active', elapsedMs: 700, transferredBytes: 400, remainingBytes: 600, totalBytes: 1000, iterations: 1, mbps: 8, dirtyPagesRate: 0 });
    expect(() => parseJobStats('error: failed to get domain')).toThrow(/not virsh domjobinfo/);
  });
});

describe('domain XML', () => {
  const spec = { name: 'mvm0', memoryMiB: 256, vcpus: 1, kernel: '/g/vmlinuz', initrd: '/g/initrd.img', guestCidr: '198.18.0.100/24', mac: '52:54:00:12:00:64', migrationPort: 49152, owner: "c/base<&>'line'/r1" };
  it('is the QEMU backend\'s machine, with its owner escaped in the metadata and read back', () => {
    const xml = domainXml(spec, { bridge: 'br0', console: '/run/x/mvm0.console.log', guest: { accel: 'tcg', cpu: 'qemu64' }, emulator: '/p/qemu-padded.sh' });
    for (const s of ["<domain type='qemu'>", "<memory unit='MiB'>256</memory>", "machine='q35'", '<model fallback=\'forbid\'>qemu64</model>', "<source bridge='br0'/>", "<mac address='52:54:00:12:00:64'/>", 'miglab.ip=198.18.0.100/24', "<source path='/run/x/mvm0.console.log'/>", '<emulator>/p/qemu-padded.sh</emulator>']) {
      expect(xml).toContain(s);
    }
    expect(xml).not.toContain("base<&>'line'");
    expect(ownerFromMetadata(xml)).toBe(spec.owner);
  });

  it('takes its domain type and <cpu> from the accelerator and CPU model: KVM checks a named model in full, host passes through', () => {
    const xml = (accel: 'kvm' | 'tcg', cpu: string) => domainXml(spec, { bridge: 'br0', console: '/c', guest: { accel, cpu } });
    expect(xml('kvm', 'Skylake-Server')).toContain("<domain type='kvm'>");
    expect(xml('kvm', 'Skylake-Server')).toContain("<cpu mode='custom' match='exact' check='full'><model fallback='forbid'>Skylake-Server</model></cpu>");
    expect(xml('kvm', 'host')).toContain("<cpu mode='host-passthrough' check='none'/>");
    expect(xml('tcg', 'qemu64')).toContain("<domain type='qemu'>");
    expect(xml('tcg', 'qemu64')).toContain("<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>");
  });

  it('gives a disk VM its disk (cache none on shared storage) and root=/dev/vda; none without', () => {
    const o = { bridge: 'br0', console: '/c', guest: { accel: 'tcg' as const, cpu: 'qemu64' } };
    const disk = (storage: 'shared' | 'local') => ({ ...spec, disk: { image: '/img/d.qcow2', format: 'qcow2' as const, storage, root: true } });
    expect(domainXml(disk('shared'), { ...o, diskFile: "/nfs/a&b'.qcow2" })).toContain("<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='/nfs/a&amp;b&apos;.qcow2'/><target dev='vda' bus='virtio'/></disk>");
    expect(domainXml(disk('local'), { ...o, diskFile: '/run/h/mvm0.disk.qcow2' })).toContain("cache='writeback'/><source file='/run/h/mvm0.disk.qcow2'/>");
    expect(domainXml(disk('local'), { ...o, diskFile: '/d' })).toContain('miglab.ip=198.18.0.100/24 root=/dev/vda rw</cmdline>');
    expect(() => domainXml(disk('shared'), o)).toThrow(/no disk file/);
    expect(domainXml(spec, o)).not.toMatch(/<disk|root=/);
  });
});
