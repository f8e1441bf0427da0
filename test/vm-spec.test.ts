import { describe, expect, it } from 'vitest';
import { checkVmName, qemuArgs, tapName, vmFiles, type VmSpec } from '../activities/qemu/vm-spec.js';

const spec: VmSpec = {
  name: 'vm1',
  memoryMiB: 256,
  vcpus: 1,
  kernel: '/s/guest/vmlinuz',
  initrd: '/s/guest/initrd.img',
  guestCidr: '198.18.0.100/24',
  mac: '52:54:00:12:00:64',
  migrationPort: 49152,
};

const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('QEMU command line', () => {
  const files = vmFiles('/s/lab/hosts/hosta/run', 'vm1');
  const args = qemuArgs(spec, files, { incoming: false });

  it('runs under TCG with QMP on a Unix socket only', () => {
    expect(argAfter(args, '-accel')).toBe('tcg');
    expect(argAfter(args, '-qmp')).toBe('unix:/s/lab/hosts/hosta/run/vm1.qmp,server=on,wait=off');
    expect(args.join(' ')).not.toMatch(/tcp:|-monitor|telnet/);
  });

  it('passes memory, CPUs, MAC and the guest address the init reads', () => {
    expect(argAfter(args, '-m')).toBe('256M');
    expect(argAfter(args, '-smp')).toBe('1');
    expect(argAfter(args, '-device')).toContain('mac=52:54:00:12:00:64');
    expect(argAfter(args, '-append')).toContain('miglab.ip=198.18.0.100/24');
    expect(argAfter(args, '-netdev')).toContain(`ifname=${tapName('vm1')}`);
  });

  it('waits for migrate-incoming only on the destination', () => {
    expect(args).not.toContain('-incoming');
    const dst = qemuArgs(spec, files, { incoming: true });
    expect(argAfter(dst, '-incoming')).toBe('defer');
  });

  it('keeps tap names within the kernel limit and validates VM names', () => {
    expect(tapName('abcdefghijk').length).toBeLessThanOrEqual(15);
    expect(checkVmName('vm1')).toBeUndefined();
    expect(checkVmName('a-very-long-vm-name')).toMatch(/1-11/);
    expect(checkVmName('vm;reboot')).toBeDefined();
  });
});
