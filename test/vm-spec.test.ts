import { describe, expect, it } from 'vitest';
import { checkVmName, diskFile, needsDirtySyncPadding, parseQemuVersion, qemuArgs, ramArg, tapName, vmFiles, type VmSpec } from '../activities/qemu/vm-spec.js';

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
  const args = qemuArgs(spec, files, { incoming: false, ram: '256M', guest: { accel: 'tcg', cpu: 'qemu64' } });

  it('runs under the accelerator and CPU model it is given: a named model under KVM is enforced, host passes through', () => {
    expect([argAfter(args, '-accel'), argAfter(args, '-cpu')]).toEqual(['tcg', 'qemu64']);
    const kvm = (cpu: string) => qemuArgs(spec, files, { incoming: false, ram: '256M', guest: { accel: 'kvm', cpu } });
    expect([argAfter(kvm('Skylake-Server'), '-accel'), argAfter(kvm('Skylake-Server'), '-cpu')]).toEqual(['kvm', 'Skylake-Server,enforce']);
    expect(argAfter(kvm('host'), '-cpu')).toBe('host');
  });

  it('has QMP on a Unix socket only', () => {
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
    const dst = qemuArgs(spec, files, { incoming: true, ram: '256M', guest: { accel: 'tcg', cpu: 'qemu64' } });
    expect(argAfter(dst, '-incoming')).toBe('defer');
  });

  describe('disk', () => {
    const image = '/nfs/images/debian,12.qcow2';
    const withDisk = (storage: 'shared' | 'local', root = true): VmSpec => ({ ...spec, disk: { image, format: 'qcow2', storage, root } });
    const blockdevs = (a: string[]) => a.flatMap((x, i) => (x === '-blockdev' ? [a[i + 1]!] : []));

    it('has no disk unless the spec names one', () => {
      expect(args).not.toContain('-blockdev');
      expect(argAfter(args, '-append')).not.toContain('root=');
    });

    it('on shared storage opens a per-VM overlay beside the image, bypassing the host page cache on both nodes', () => {
      const a = qemuArgs(withDisk('shared'), files, { incoming: false, ram: '256M', guest: { accel: 'tcg', cpu: 'qemu64' } });
      expect(blockdevs(a)).toEqual([
        'driver=file,filename=/nfs/images/vm1.overlay.qcow2,node-name=disk0-file,cache.direct=on',
        'driver=qcow2,file=disk0-file,node-name=disk0,cache.direct=on',
      ]);
      expect(a).toContain('virtio-blk-pci,drive=disk0,id=vda');
      expect(argAfter(a, '-append')).toMatch(/ root=\/dev\/vda rw$/);
    });

    it('on local storage opens this host\'s own copy in its run dir, through the page cache', () => {
      const a = qemuArgs(withDisk('local', false), files, { incoming: true, ram: '256M', guest: { accel: 'tcg', cpu: 'qemu64' } });
      expect(blockdevs(a)[0]).toBe('driver=file,filename=/s/lab/hosts/hosta/run/vm1.disk.qcow2,node-name=disk0-file,cache.direct=off');
      expect(argAfter(a, '-append')).not.toContain('root=');
    });

    it('keeps a shared overlay where it is told, and escapes commas in paths', () => {
      const s: VmSpec = { ...spec, disk: { image, format: 'raw', storage: 'shared', root: true, overlayDir: '/shared/a,b' } };
      expect(diskFile({ name: s.name, disk: s.disk! }, files)).toBe('/shared/a,b/vm1.overlay.qcow2');
      expect(blockdevs(qemuArgs(s, files, { incoming: false, ram: '256M', guest: { accel: 'tcg', cpu: 'qemu64' } }))[0]).toBe('driver=file,filename=/shared/a,,b/vm1.overlay.qcow2,node-name=disk0-file,cache.direct=on');
    });
  });

  it('keeps tap names within the kernel limit and validates VM names', () => {
    expect(tapName('abcdefghijk').length).toBeLessThanOrEqual(15);
    expect(checkVmName('vm1')).toBeUndefined();
    expect(checkVmName('a-very-long-vm-name')).toMatch(/1-11/);
    // refused, each with the rule to follow (shell metacharacters, upper case, a leading digit, empty)
    for (const bad of ['vm;reboot', 'VM1', '1vm', '']) expect(checkVmName(bad), bad).toBe('use 1-11 lower-case letters, digits or dashes, starting with a letter');
  });

  it('pads the RAM size off a 64-page multiple on QEMU before 9.0, whose TCG migration loses writes', () => {
    const v72 = parseQemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022');
    expect(v72).toEqual([7, 2, 22]);
    expect(parseQemuVersion('QEMU emulator version 9.0.0')).toEqual([9, 0, 0]);
    expect(parseQemuVersion('qemu-system-x86_64: command not found')).toBeUndefined();
    expect(needsDirtySyncPadding(v72)).toBe(true);
    expect(needsDirtySyncPadding([9, 0, 0])).toBe(false);
    expect(needsDirtySyncPadding(undefined)).toBe(true);
    // for every size a campaign may ask, the padded size is off a 64-page (256 KiB) multiple, and
    // only 8 KiB more than asked; QEMU 9.0 on gets the size as asked
    const kib = (arg: string) => (arg.endsWith('K') ? Number(arg.slice(0, -1)) : Number(arg.slice(0, -1)) * 1024);
    for (const mib of [64, 96, 128, 256, 1000, 1024, 4096]) {
      const padded = ramArg(mib, v72);
      expect(kib(padded) % 256, `${mib} MiB`).not.toBe(0);
      expect(kib(padded) - mib * 1024, `${mib} MiB`).toBe(8);
      expect(kib(ramArg(mib, [9, 2, 0]))).toBe(mib * 1024);
    }
  });
});
