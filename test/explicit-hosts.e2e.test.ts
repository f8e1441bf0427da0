/**
 * A campaign on its own hosts (`hosts:` rather than `bed:`), run against the bed's hosts as if
 * they were a user's machines: their addresses, sshd and keys, a run dir of the campaign's
 * choosing, the guest image by path. Also the check that refuses unreachable or unprepared hosts
 * before anything starts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCampaign } from '../campaign/builder.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCampaign } from '../cli/run.js';
import { verifyCampaign } from '../cli/verify.js';
import { guestIp } from '../lab/addressing.js';
import { labDown, labUp, type BedInventory } from '../lab/bed.js';
import { UserError } from '../lib/errors.js';
import { stopDevServer, type DevServerOptions } from '../server/dev-server.js';

const BED = 'exph';
const dir = mkdtempSync(join(tmpdir(), 'miglab-exph-'));
const server: DevServerOptions = { ip: '127.0.0.1', port: 17275, uiPort: 18275, namespace: 'default', dir: join(dir, 'temporal') };

describe('a campaign on its own hosts (the bed\'s, named explicitly)', () => {
  let inv: BedInventory;

  beforeAll(async () => {
    await labDown(BED);
    inv = await labUp({ bed: BED, subnet: '198.18.12.0/24' });
  });

  afterAll(async () => {
    await labDown(BED);
    await stopDevServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  function campaign(name: string, over: { hostbKnownHosts?: string; kernel?: string; hostbAddress?: string; hostbPort?: number } = {}): string {
    const [a, b] = inv.hosts;
    return writeCampaign(dir, {
      campaign: name,
      hosts: [
        { name: 'hosta', address: a!.ip, key: inv.privateKey, knownHosts: inv.knownHosts, runDir: join(dir, 'run-a') },
        { name: 'hostb', address: over.hostbAddress ?? b!.ip, port: over.hostbPort ?? 22, key: inv.privateKey, knownHosts: over.hostbKnownHosts ?? inv.knownHosts, runDir: join(dir, 'run-b') },
      ],
      vm: {
        memoryMiB: 256,
        guest: { kernel: over.kernel ?? inv.guest.kernel, initrd: inv.guest.initrd, addresses: [`${guestIp(inv.plan, 0)}/${inv.plan.prefix}`], key: inv.privateKey, knownHosts: inv.knownHosts },
      },
      scenarios: [{ name: 'baseline', kind: 'baseline' }],
      migration: { bandwidthMiBps: 112 },
      probe: { interface: inv.plan.controllerIf },
      results: `results-${name}`,
    });
  }

  it('runs a trial on them and verify finds it recorded once, nothing left running', async () => {
    const file = campaign('own');
    const r = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server } });
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]!.outcome).toEqual({ kind: 'converged', attempt: 0, step: 'precopy' });
    expect(r.rows[0]!.probe!.sent).toBeGreaterThan(50);
    // QEMU kept its files where the campaign said
    expect(existsSync(join(dir, 'run-a', 'mvm0.console.log'))).toBe(true);
    const v = await verifyCampaign({ file, campaign: { state: 'COMPLETED' } });
    expect(v).toMatchObject({ expected: 1, recorded: 1, lost: [], duplicated: [], orphans: [], splitBrain: [] });
  }, 240_000);

  async function refusal(file: string): Promise<string> {
    const err = await runCampaign({ file, log: () => undefined, progress: () => undefined, temporal: { kind: 'embedded', options: server } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).message;
  }

  it('refuses, before anything starts, a host whose key does not match, one with no guest kernel, and one that does not answer', async () => {
    const wrong = join(dir, 'wrong_known_hosts');
    const hostb = inv.hosts[1]!;
    // hostb listed with hosta's key: a host-key mismatch
    const hostaKey = readFileSync(inv.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`${inv.hosts[0]!.ip} `))!.split(' ').slice(1).join(' ');
    writeFileSync(wrong, `${hostb.ip} ${hostaKey}\n`);
    const badKey = await refusal(campaign('badkey', { hostbKnownHosts: wrong }));
    expect(badKey).toMatch(new RegExp(`host hostb \\(root@${hostb.ip.replaceAll('.', '\\.')}:22\\): .*host key check failed`));
    expect(existsSync(join(dir, 'results-badkey'))).toBe(false);

    const noKernel = await refusal(campaign('nokernel', { kernel: '/nonexistent/vmlinuz' }));
    expect(noKernel).toMatch(/host hosta .*missing: \/nonexistent\/vmlinuz/);
    expect(noKernel).toMatch(/host hostb .*missing: \/nonexistent\/vmlinuz/);

    // loopback, a port nobody listens on: refused at once, and no traffic leaves this machine
    const down = await refusal(campaign('down', { hostbAddress: '127.0.0.1', hostbPort: 1 }));
    expect(down).toMatch(/host hostb \(root@127\.0\.0\.1:1\) cannot be reached: .*ECONNREFUSED/);
    expect(existsSync(join(dir, 'results-down'))).toBe(false);
  }, 120_000);
});
