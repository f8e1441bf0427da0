/** The `miglab` command as a user runs it: help, exit codes, and prerequisite errors that name the fix. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../cli/main.js';
import { listNetns } from '../lab/netns.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'miglab.js');

function miglab(args: string[], opts: { env?: Record<string, string>; wrap?: string[] } = {}) {
  const argv = [...(opts.wrap ?? []), process.execPath, BIN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('miglab CLI', () => {
  it('--version says the package version and the commit, exit 0', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const r = miglab(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(new RegExp(`^miglab ${pkg.version.replace(/\./g, '\\.')}( \\([0-9a-f]{12}(-dirty)?\\))?$`));
  });

  it('every command has examples in its --help', () => {
    // in process: the same Command objects `miglab <command> --help` prints
    const seen: string[] = [];
    const walk = (c: Command, path: string[]) => {
      let out = '';
      c.configureOutput({ writeOut: (t) => void (out += t) });
      c.outputHelp();
      expect(out, `miglab ${path.join(' ')} --help`).toMatch(/Examples:\n  miglab \S/);
      seen.push(path.join(' '));
      for (const sub of c.commands.filter((x) => x.name() !== 'help')) walk(sub, [...path, sub.name()]);
    };
    walk(buildProgram(), []);
    expect(seen).toEqual(expect.arrayContaining(['', 'lab down', 'server stop', 'pause', 'cancel', 'completion']));
    expect(miglab(['cancel', '--help'])).toMatchObject({ code: 0, out: expect.stringContaining('Examples:\n  miglab cancel paper') });
  });

  it('completes commands, subcommands and options in bash (a real bash sources the script)', () => {
    const script = miglab(['completion', 'bash']);
    expect(script.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'miglab-completion-'));
    writeFileSync(join(dir, 'c.bash'), script.out);
    const complete = (...words: string[]) => {
      const r = spawnSync('bash', ['-c', `source ${join(dir, 'c.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _miglab; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      return r.stdout.trim().split(/\s+/).filter(Boolean);
    };
    expect(complete('miglab', 'la')).toEqual(['lab']);
    expect(complete('miglab', 'lab', '')).toEqual(['up', 'down', 'status', 'doctor']);
    expect(complete('miglab', 'lab', 'up', '--x')).toEqual(['--xen']);
    expect(complete('miglab', 'run', 'campaigns/paper.yaml', '--')).toEqual(['--json', '--bed-subnet', '--controller', '--help']);
    // no subcommand fits: nothing, so bash completes file names
    expect(complete('miglab', 'check', '')).toEqual([]);
    const bad = miglab(['completion', 'fish']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/fix: use `miglab completion bash`/);
  });

  it('shows help with examples and the meaning of exit codes', () => {
    const r = miglab(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    expect(r.out).toContain('miglab lab up');
    expect(r.out).toMatch(/Exit codes: 0 ok/);
  });

  it('reports every prerequisite present on this machine', () => {
    const r = miglab(['lab', 'doctor']);
    expect(r.out).toContain('all prerequisites present');
    expect(r.code).toBe(0);
    expect(JSON.parse(miglab(['lab', 'doctor', '--json']).out)).toEqual({ ok: true, problems: [] });
  });

  it('names the missing tools and the package that brings each', () => {
    const emptyBin = mkdtempSync(join(tmpdir(), 'miglab-path-'));
    const r = miglab(['lab', 'doctor'], { env: { PATH: emptyBin } });
    expect(r.code).toBe(2);
    expect(r.out).toContain('qemu-system-x86_64 is not installed');
    expect(r.out).toContain('apt-get install qemu-system-x86');
    expect(r.out).toContain('apt-get install iputils-ping');
  });

  it('says the guest image is not built, and how to build it', () => {
    const state = mkdtempSync(join(tmpdir(), 'miglab-state-'));
    const r = miglab(['lab', 'up', '--bed', 'nostate'], { env: { MIGLAB_STATE_DIR: state } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/lab guest image is not built/);
    expect(r.err).toContain('bash scripts/setup.sh');
    expect(r.err).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('refuses to run the bed without root', () => {
    const r = miglab(['lab', 'up', '--bed', 'noroot'], { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs root/);
    expect(r.err).toMatch(/fix: .*sudo/);
  });

  it('refuses to run the bed without /dev/net/tun', () => {
    // A private mount namespace hides /dev/net from this one command only.
    const r = miglab(['lab', 'doctor'], { wrap: ['unshare', '--mount', '--', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh'] });
    expect(r.code).toBe(2);
    expect(r.out).toContain('/dev/net/tun is missing');
    expect(r.out).toContain('modprobe tun');
  });

  it('rejects a subnet outside 198.18.0.0/15 before creating anything', async () => {
    const r = miglab(['lab', 'up', '--bed', 'badnet', '--subnet', '10.1.0.0/24']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('outside 198.18.0.0/15');
    expect((await listNetns()).filter((n) => n.startsWith('miglab-badnet-'))).toEqual([]);
  });

  it('rejects Xen hosts on hosts the bed does not have before creating anything', async () => {
    const r = miglab(['lab', 'up', '--bed', 'badxen', '--subnet', '198.18.250.0/24', '--xen', 'hosta,hostz']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no bed host hostz to boot a Xen host on (the bed's hosts: hosta, hostb)");
    expect((await listNetns()).filter((n) => n.startsWith('miglab-badxen-'))).toEqual([]);
  });

  it('exits 1 from `lab status` when the bed is down, with JSON for scripts', () => {
    const r = miglab(['lab', 'status', '--bed', 'nobed', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ bed: 'nobed', up: false, namespaces: [] });
  });

  it('checks a campaign file: the paper campaign is valid, a broken one names file:line:col and exits 2', () => {
    const ok = miglab(['check', join(import.meta.dirname, '..', 'campaigns', 'paper.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/campaign paper is valid: 27 trials \(baseline: 3, dirty-ramp: 24\)/);
    const dir = mkdtempSync(join(tmpdir(), 'miglab-campaign-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'campaign: x\nbed: lab\nvm:\n  memoryMiB: 128\nscenarios:\n  - name: r\n    kind: dirty-ramp\n    workingSetsMiB: [500]\nmigration:\n  bandwidthMiBps: 112\n');
    const r = miglab(['check', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:8:22: scenarios[0].workingSetsMiB[0]: working set 500 MiB does not fit the 128 MiB VM`);
    const missing = miglab(['check', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read campaign file .*nope\.yaml: ENOENT/);
  });
  it('reports a recorded campaign from its results directory, and from its campaign file with --results', () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'results', 'paper-run1');
    const out = mkdtempSync(join(tmpdir(), 'miglab-cli-report-'));
    const r = miglab(['report', fixture, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { campaigns: { recorded: number; expected: number }[]; cliffs: { predictedMiB: number; measuredMiB: number | null }[]; files: string[] };
    expect(j.campaigns).toEqual([{ campaign: 'paper', hypervisor: 'qemu', recorded: 27, expected: 27 }]);
    expect(j.cliffs[0]).toMatchObject({ measuredMiB: null });
    expect(j.files).toEqual(expect.arrayContaining(['report.html', 'report.md', 'trials.csv', 'figures/fig9-trace.svg']));
    const fromSpec = miglab(['report', join(import.meta.dirname, '..', 'campaigns', 'paper.yaml'), '--results', join(import.meta.dirname, 'fixtures', 'results', 'paper-run2-partial'), '--out', out]);
    expect(fromSpec.code).toBe(0);
    expect(fromSpec.out).toContain('10 of 27 trials recorded (incomplete)');
  });

  it('refuses to report what is not there, with exit 2 and the fix', () => {
    const r = miglab(['report', join(tmpdir(), 'miglab-no-such-results')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: .*miglab-no-such-results does not exist\n  fix: /);
    expect(r.err).not.toMatch(/\s+at /); // no stack trace
  });

  describe('bad arguments and campaign files: exit 2 with the place and the fix, before anything starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'miglab-args-'));
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const bedCampaign = (bed: string) => `campaign: args\nbed: ${bed}\nvm:\n  memoryMiB: 256\nscenarios:\n  - name: baseline\n    kind: baseline\nmigration:\n  bandwidthMiBps: 112\n`;
    const hostsCampaign = (key: string) => `campaign: args\nhosts:\n  - name: a\n    address: 198.18.0.10\n    key: ${key}\n    knownHosts: kh\n  - name: b\n    address: 198.18.0.11\n    key: ${key}\n    knownHosts: kh\nvm:\n  memoryMiB: 256\nscenarios:\n  - name: baseline\n    kind: baseline\nmigration:\n  bandwidthMiBps: 112\n`;
    writeFileSync(join(dir, 'id'), 'key');
    writeFileSync(join(dir, 'kh'), '');

    it('run: a campaign file that is not there', () => {
      const r = miglab(['run', join(dir, 'nope.yaml')]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/cannot read campaign file .*nope\.yaml: ENOENT/);
      expect(r.err).toMatch(/fix: check the path/);
    });

    it('run: a bed subnet outside 198.18.0.0/15, and no namespace made', async () => {
      const r = miglab(['run', write('subnet.yaml', bedCampaign('argnet')), '--bed-subnet', '10.1.0.0/24']);
      expect(r.code).toBe(2);
      expect(r.err).toContain('outside 198.18.0.0/15');
      expect((await listNetns()).filter((n) => n.startsWith('miglab-argnet-'))).toEqual([]);
    });

    it('run: a campaign whose host key file is missing names file:line:col', () => {
      const f = write('nokey.yaml', hostsCampaign('missing-key'));
      const r = miglab(['run', f]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${f}:5:10: hosts[0].key: private key file ${join(dir, 'missing-key')} does not exist`);
      expect(r.err).toContain('nothing was started');
    });

    it('run: own hosts without a guest to boot', () => {
      const r = miglab(['run', write('hosts.yaml', hostsCampaign('id'))]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/vm\.guest: a campaign on its own hosts must say which guest to boot/);
      expect(r.err).toMatch(/fix: add vm\.guest: kernel, initrd/);
    });

    it('verify and report: a campaign that is not there', () => {
      for (const cmd of ['verify', 'report']) {
        const r = miglab([cmd, join(dir, 'nope.yaml')]);
        expect(r.code, cmd).toBe(2);
        expect(r.err, cmd).toMatch(/nope\.yaml/);
        expect(r.err, cmd).not.toMatch(/at .*\.js:\d+/);
      }
    });

    it('an unknown command or option, or a missing argument, is refused with the usage and exit 2', () => {
      const a = miglab(['migrate-everything']);
      expect(a.code).toBe(2);
      expect(a.err).toMatch(/unknown command/);
      const b = miglab(['run', write('ok.yaml', bedCampaign('argok')), '--bogus']);
      expect(b.code).toBe(2);
      expect(b.err).toMatch(/unknown option '--bogus'/);
      const c = miglab(['check']);
      expect(c.code).toBe(2);
      expect(c.err).toMatch(/missing required argument/);
    });

    it('a YAML alias bomb is a located refusal with exit 2, not a stack', () => {
      const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (const [i, n] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) levels.push(`${n}: &${n} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
      const f = write('bomb.yaml', `${levels.join('\n')}\n`);
      const r = miglab(['check', f]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${f}:2:8: YAML refused: Excessive alias count`);
      expect(r.err).not.toMatch(/\n\s+at .*:\d+/);
    });
  });
});
