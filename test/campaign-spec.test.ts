import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CampaignSpecError, parseCampaign } from '../campaign/load.js';
import { expandTrials } from '../campaign/trials.js';

const PAPER = readFileSync(join(import.meta.dirname, '..', 'campaigns', 'paper.yaml'), 'utf8');

function problemsOf(text: string): string {
  try {
    parseCampaign(text, 'c.yaml');
  } catch (e) {
    if (e instanceof CampaignSpecError) return e.message;
    throw e;
  }
  throw new Error('the campaign was accepted');
}

/** a service scenario, in place of the paper's baseline */
const SERVICE = `  - name: mc
    kind: service
    service: memcached
    keySetsMiB: [1, 8]
    valueBytes: 4096`;

const HOSTS = `campaign: two
hosts:
  - name: src
    address: 198.18.0.10
    key: keys/id
    knownHosts: keys/known_hosts
    memoryMiB: 1024
  - name: dst
    address: 198.18.0.11
    key: keys/id
    knownHosts: keys/known_hosts
pairs: [[src, dst]]
vm:
  memoryMiB: 512
  guest:
    kernel: /srv/miglab/vmlinuz
    initrd: /srv/miglab/initrd.img
    addresses: [10.0.0.50/24]
    key: keys/id
    knownHosts: keys/known_hosts
scenarios:
  - name: baseline
    kind: baseline
migration:
  bandwidthMiBps: 112
`;

describe('campaign spec', () => {
  it('accepts the paper campaign and fills in the defaults', () => {
    const spec = parseCampaign(PAPER, 'campaigns/paper.yaml');
    expect(spec.bed).toBe('lab');
    expect(spec.migration).toMatchObject({ bandwidthMiBps: 112, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stall: { iterations: 10 } });
    expect(spec.scenarios.map((s) => s.kind)).toEqual(['baseline', 'dirty-ramp']);
    expect(spec.probe.intervalMs).toBe(10);
  });

  it('expands into trials with stable, unique ids', () => {
    const spec = parseCampaign(PAPER, 'campaigns/paper.yaml');
    const trials = expandTrials(spec);
    expect(trials.length).toBe(3 + 8 * 3);
    expect(new Set(trials.map((t) => t.id)).size).toBe(trials.length);
    expect(trials[0]).toEqual({ id: 'paper/baseline/idle/r1', index: 0, scenario: 'baseline', kind: 'baseline', workingSetMiB: null, repetition: 1, workload: null });
    expect(trials.map((t) => t.id)).toContain('paper/dirty-ramp/32MiB/r2');
    expect(expandTrials(parseCampaign(PAPER, 'again.yaml')).map((t) => t.id)).toEqual(trials.map((t) => t.id));
  });

  it('accepts explicit hosts and pairs', () => {
    const spec = parseCampaign(HOSTS, 'c.yaml');
    expect(spec.hosts?.map((h) => [h.name, h.port, h.user])).toEqual([['src', 22, 'root'], ['dst', 22, 'root']]);
  });

  const bad: [string, string, RegExp][] = [
    ['YAML syntax', PAPER.replace('vm:\n  memoryMiB: 256', 'vm:\n  memoryMiB: [256'), /c\.yaml:\d+:\d+: YAML syntax/],
    ['duplicate key', PAPER.replace('repetitions: 3', 'repetitions: 3\nrepetitions: 4'), /c\.yaml:\d+:\d+: YAML syntax: .*[Uu]nique/],
    ['unknown field', PAPER.replace('  vcpus: 1', '  vcpus: 1\n  cpus: 2'), /c\.yaml:10:3: vm\.cpus: unknown field "cpus"/],
    ['missing field', PAPER.replace('  memoryMiB: 256\n', ''), /c\.yaml:8:3: vm\.memoryMiB: missing/],
    ['wrong type', PAPER.replace('repetitions: 3', 'repetitions: three'), /c\.yaml:18:14: repetitions: .*expected number/],
    ['negative rate', PAPER.replace('rate: max', 'rate: -5'), /c\.yaml:16:11: scenarios\[1\]\.rate: the dirty rate must be positive/],
    ['unknown scenario kind', PAPER.replace('kind: baseline', 'kind: basline'), /c\.yaml:\d+:\d+: scenarios\[0\]\.kind/],
    ['working set larger than the VM', PAPER.replace('48, 64]', '48, 64, 300]'), /c\.yaml:15:52: scenarios\[1\]\.workingSetsMiB\[8\]: working set 300 MiB does not fit the 256 MiB VM[\s\S]*fix: use at most 208 MiB/],
    ['duplicate scenario', PAPER.replace('name: dirty-ramp', 'name: baseline'), /scenarios\[1\]\.name: scenario "baseline" is listed twice/],
    ['name with shell metacharacters', PAPER.replace('campaign: paper', 'campaign: "paper; rm -rf /"'), /c\.yaml:4:11: campaign: the campaign name must be/],
    ['absurd timeout', PAPER.replace('completionTimeoutSPerGiB: 800', 'completionTimeoutSPerGiB: 1e9'), /migration\.completionTimeoutSPerGiB/],
    ['ladder step that lowers nothing', PAPER.replace('downtimeLimitMs: 1000', 'downtimeLimitMs: 200'), /ladder\[0\]\.downtimeLimitMs: raises the downtime limit to 200 ms, not above the 300 ms/],
    ['neither bed nor hosts', PAPER.replace('bed: lab\n', ''), /neither "bed" nor "hosts"/],
    ['unknown host in a pair', HOSTS.replace('pairs: [[src, dst]]', 'pairs: [[src, dest]]'), /c\.yaml:12:15: pairs\[0\]\[1\]: unknown host "dest"[\s\S]*fix: use one of: src, dst/],
    ['VM larger than its host', HOSTS.replace('memoryMiB: 512', 'memoryMiB: 2048'), /vm\.memoryMiB: the VM \(2048 MiB\) is larger than host "src" can hold \(1024 MiB\)/],
    ['a host migrating to itself', HOSTS.replace('pairs: [[src, dst]]', 'pairs: [[src, src]]'), /pairs\[0\]: pair migrates "src" to itself/],
    ['not a mapping', '- just\n- a list\n', /not a mapping of campaign fields/],
    ['zero bandwidth', PAPER.replace('bandwidthMiBps: 112', 'bandwidthMiBps: 0'), /c\.yaml:\d+:\d+: migration\.bandwidthMiBps/],
    ['no repetitions', PAPER.replace('repetitions: 3', 'repetitions: 0'), /c\.yaml:\d+:\d+: repetitions/],
    ['a probe interval of 0 ms', PAPER.replace('intervalMs: 10', 'intervalMs: 0'), /probe\.intervalMs: the probe interval must be at least 1 ms/],
    ['a guest too small to boot', PAPER.replace('memoryMiB: 256', 'memoryMiB: 32'), /vm\.memoryMiB: the guest needs at least 64 MiB/],
    ['a host address that is a name, not an address', HOSTS.replace('address: 198.18.0.11', 'address: evil.example.com'), /hosts\[1\]\.address: address must be an IPv4 address/],
    ['a login with shell metacharacters', HOSTS.replace('knownHosts: keys/known_hosts\n    memoryMiB', 'knownHosts: keys/known_hosts\n    user: "root$(reboot)"\n    memoryMiB'), /hosts\[0\]\.user: user must be a plain login name/],
    ['an unknown hypervisor', PAPER.replace('hypervisor: qemu', 'hypervisor: vmware'), /c\.yaml:\d+:\d+: hypervisor/],
    ['both a bed and hosts', HOSTS.replace('campaign: two', 'campaign: two\nbed: lab'), /"bed" and "hosts" are both given/],
    ['own hosts without a guest', HOSTS.replace(/  guest:\n(    .*\n)+/, ''), /vm\.guest: a campaign on its own hosts must say which guest to boot/],
    ['a guest for a bed, which brings its own', PAPER.replace('  vcpus: 1', '  vcpus: 1\n  guest:\n    kernel: /k\n    initrd: /i\n    addresses: [10.0.0.5/24]\n    key: k\n    knownHosts: kh'), /vm\.guest: a bed brings its own guest/],
    ['a guest address without its prefix', HOSTS.replace('[10.0.0.50/24]', '[10.0.0.50]'), /vm\.guest\.addresses\[0\]: each address must be IPv4 with a prefix/],
    ['fewer guest addresses than pairs', HOSTS.replace('pairs: [[src, dst]]', 'pairs: [[src, dst], [dst, src]]'), /vm\.guest\.addresses: 2 host pairs run side by side but 1 guest address is given/],
    ['a relative kernel path', HOSTS.replace('kernel: /srv/miglab/vmlinuz', 'kernel: vmlinuz'), /vm\.guest\.kernel: kernel must be an absolute path on the hosts/],
    ['a raise-downtime rung lower than the rung before it', PAPER.replace('  - step: auto-converge', '  - step: raise-downtime\n    downtimeLimitMs: 600\n  - step: auto-converge'), /c\.yaml:\d+:\d+: ladder\[1\]\.downtimeLimitMs: raises the downtime limit to 600 ms, not above the 1000 ms set by the rung before it[\s\S]*fix: use more than 1000/],
    ['a post-copy rung with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace('  bandwidthMiBps: 112\n', '').replace('  - step: auto-converge', '  - step: postcopy'), /ladder\[1\]\.step: xl has no post-copy migration: this rung cannot be honoured with hypervisor: xen/],
    ['an auto-converge rung with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace('  bandwidthMiBps: 112\n', ''), /ladder\[1\]\.step: xl has no auto-converge[\s\S]*ladder\[0\]\.step: xl has no downtime limit to raise|ladder\[0\]\.step: xl has no downtime limit to raise[\s\S]*ladder\[1\]\.step: xl has no auto-converge/],
    ['an accelerator with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace('  bandwidthMiBps: 112\n', '').replace(/ladder:\n(  .*\n)+/, 'ladder: []\n').replace('memoryMiB: 256', 'memoryMiB: 256\n  accel: kvm'), /c\.yaml:\d+:3: vm\.accel: vm\.accel applies to QEMU and libvirt guests[\s\S]*fix: remove vm\.accel for hypervisor: xen/],
    ['the host CPU under TCG', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  accel: tcg\n  cpu: host'), /vm\.cpu: CPU model host passes the host CPU through, which only KVM can/],
    ['a CPU model with options', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  cpu: "qemu64,+vmx"'), /vm\.cpu: cpu must be a QEMU CPU model name/],
    ['a bandwidth cap with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace(/ladder:\n(  .*\n)+/, 'ladder: []\n'), /c\.yaml:\d+:\d+: migration\.bandwidthMiBps: xl applies no bandwidth cap[\s\S]*fix: remove migration\.bandwidthMiBps for hypervisor: xen/],
    ['no bandwidth cap with QEMU', PAPER.replace('  bandwidthMiBps: 112\n', ''), /c\.yaml:\d+:\d+: migration\.bandwidthMiBps: missing \(expected number\)/],
    ['a bandwidth too low to finish one pass before the completion timeout', PAPER.replace('bandwidthMiBps: 112', 'bandwidthMiBps: 0.25'), /migration\.bandwidthMiBps: at 0\.25 MiB\/s one pass over the 112 MiB a guest keeps in use \(48 MiB of its own \+ a 64 MiB working set\) takes at least 448 s, but the completion timeout \(800 s\/GiB × 0\.25 GiB = 200 s\) fires first: every live attempt would be aborted[\s\S]*fix: raise bandwidthMiBps above 0\.56, or completionTimeoutSPerGiB above 1790/],
    ['a disk with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace('  bandwidthMiBps: 112\n', '').replace(/ladder:\n(  .*\n)+/, 'ladder: []\n').replace('memoryMiB: 256', 'memoryMiB: 256\n  disk:\n    storage: shared'), /c\.yaml:\d+:3: vm\.disk: disks are supported with QEMU and libvirt, not yet with xl[\s\S]*fix: remove vm\.disk, or set hypervisor: qemu or libvirt/],
    ['a disk image named for a bed', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  disk:\n    storage: shared\n    image: /srv/d.qcow2'), /vm\.disk\.image: a bed's disk guest is the Debian image setup builds[\s\S]*fix: remove vm\.disk\.image/],
    ['a disk on own hosts without its image', HOSTS.replace('memoryMiB: 512', 'memoryMiB: 512\n  disk:\n    storage: local'), /vm\.disk: missing image: the disk image at the same path on every host/],
    ['a relative disk image path', HOSTS.replace('memoryMiB: 512', 'memoryMiB: 512\n  disk:\n    storage: local\n    image: d.qcow2'), /vm\.disk\.image: image must be an absolute path on the hosts/],
    ['post-copy with a local disk', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  disk:\n    storage: local').replace('  - step: auto-converge', '  - step: postcopy'), /ladder\[1\]: post-copy cannot move a local disk[\s\S]*fix: remove the postcopy rung, or use vm\.disk\.storage: shared/],
    ['a service without a disk guest', PAPER.replace('  - name: baseline\n    kind: baseline', SERVICE), /c\.yaml:\d+:\d+: scenarios\[0\]\.kind: memcached runs in a guest booted from a disk[\s\S]*fix: add vm\.disk: \{ storage: shared \}/],
    ['a key set larger than the VM holds', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  disk:\n    storage: shared').replace('  - name: baseline\n    kind: baseline', SERVICE.replace('[1, 8]', '[1, 100]')), /c\.yaml:\d+:\d+: scenarios\[0\]\.keySetsMiB\[1\]: a 100 MiB key set takes about 166 MiB in memcached, more than the 128 MiB the 256 MiB VM has beside the Debian guest's own 128 MiB[\s\S]*fix: use at most 74 MiB, or raise vm\.memoryMiB to 294/],
    ['a key set listed twice', PAPER.replace('memoryMiB: 256', 'memoryMiB: 256\n  disk:\n    storage: shared').replace('  - name: baseline\n    kind: baseline', SERVICE.replace('[1, 8]', '[8, 8]')), /scenarios\[0\]\.keySetsMiB\[1\]: key set 8 MiB is listed twice/],
    ['a service with xl', PAPER.replace('hypervisor: qemu', 'hypervisor: xen').replace('  bandwidthMiBps: 112\n', '').replace(/ladder:\n(  .*\n)+/, 'ladder: []\n').replace('  - name: baseline\n    kind: baseline', SERVICE), /scenarios\[0\]\.kind: service scenarios run in the Debian disk guest, which xl does not run yet/],
    ['a service value larger than memcached takes', PAPER.replace('  - name: baseline\n    kind: baseline', SERVICE.replace('valueBytes: 4096', 'valueBytes: 2000000')), /scenarios\[0\]\.valueBytes: values must be at most 512 KiB/],
    ['a run dir with shell metacharacters', HOSTS.replace('    memoryMiB: 1024', '    memoryMiB: 1024\n    runDir: /tmp/x;reboot'), /hosts\[0\]\.runDir: runDir must be an absolute path of plain characters/],
  ];

  for (const [what, text, expected] of bad) {
    it(`rejects ${what}, naming the place`, () => {
      expect(problemsOf(text)).toMatch(expected);
    });
  }

  it('accepts every campaign file shipped in campaigns/ (the disk ones included)', () => {
    const dir = join(import.meta.dirname, '..', 'campaigns');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('debian-disk.yaml');
    for (const f of files) expect(() => parseCampaign(readFileSync(join(dir, f), 'utf8'), f), f).not.toThrow();
    const disk = parseCampaign(readFileSync(join(dir, 'debian-disk.yaml'), 'utf8'), 'debian-disk.yaml');
    expect(disk.vm.disk).toEqual({ storage: 'shared', format: 'qcow2' });
  });

  it('reports every problem at once, each with its own place', () => {
    const text = PAPER.replace('rate: max', 'rate: -5').replace('repetitions: 3', 'repetitions: 0');
    const msg = problemsOf(text);
    expect(msg).toMatch(/2 problems, nothing was started/);
    expect(msg).toMatch(/scenarios\[1\]\.rate/);
    expect(msg).toMatch(/repetitions/);
  });

  describe('files it names, checked before anything starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'miglab-spec-'));
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'id'), 'a key');
    writeFileSync(join(dir, 'keys', 'known_hosts'), '198.18.0.10 ssh-ed25519 AAAA');
    const at = (p: string) => (isAbsolute(p) ? p : join(dir, p));
    const problemsWithFiles = (text: string) => {
      try {
        parseCampaign(text, 'c.yaml', { resolvePath: at });
      } catch (e) {
        if (e instanceof CampaignSpecError) return e.message;
        throw e;
      }
      return 'accepted';
    };

    it('accepts a campaign whose key files exist and whose results stay beside it', () => {
      expect(problemsWithFiles(HOSTS)).toBe('accepted');
    });
    it('rejects a missing private key file, naming the host', () => {
      expect(problemsWithFiles(HOSTS.replace('key: keys/id\n    knownHosts: keys/known_hosts\n    memoryMiB', 'key: keys/nope\n    knownHosts: keys/known_hosts\n    memoryMiB'))).toMatch(
        /c\.yaml:5:10: hosts\[0\]\.key: private key file .*keys\/nope does not exist/,
      );
    });
    it("rejects a missing guest key file", () => {
      expect(problemsWithFiles(HOSTS.replace('    key: keys/id\n    knownHosts: keys/known_hosts\nscenarios', '    key: keys/guest\n    knownHosts: keys/known_hosts\nscenarios'))).toMatch(/vm\.guest\.key: guest's private key file .*keys\/guest does not exist/);
    });
    it('rejects a known_hosts path that is a folder', () => {
      expect(problemsWithFiles(HOSTS.replaceAll('knownHosts: keys/known_hosts', 'knownHosts: keys'))).toMatch(/hosts\[0\]\.knownHosts: known_hosts file .*keys is not a file/);
    });
    it('rejects results in a system folder or the root', () => {
      expect(problemsWithFiles(HOSTS + 'results: /etc/miglab\n')).toMatch(/results: results would go to \/etc\/miglab, a system folder/);
      expect(problemsWithFiles(HOSTS + 'results: ../../../../../../..\n')).toMatch(/results: results would go to \/, a system folder/);
    });
    it('rejects results that are an existing file, or inside one', () => {
      writeFileSync(join(dir, 'results.txt'), 'not a folder');
      expect(problemsWithFiles(HOSTS + 'results: results.txt\n')).toMatch(/c\.yaml:\d+:\d+: results: results would go to .*results\.txt, but that is a file[\s\S]*fix: name a folder/);
      expect(problemsWithFiles(HOSTS + 'results: results.txt/run1\n')).toMatch(/results would go to .*results\.txt\/run1, but .*results\.txt is a file/);
      expect(problemsWithFiles(HOSTS + 'results: not-there-yet/run1\n')).toBe('accepted');
    });
    it('rejects results that climb into a system folder through ..', () => {
      expect(problemsWithFiles(HOSTS + 'results: ../../../../../../../usr/share/x\n')).toMatch(/results would go to \/usr\/share\/x/);
    });
  });
});
