/** The lab guest as the controller sees it: its address, its SSH login, and reachability probes. */
import { run } from '../lib/exec.js';
import { guestIp, guestMac } from './addressing.js';
import type { Site } from './site.js';
import type { BedInventory } from './bed.js';
import type { SshTarget } from '../activities/ssh/pool.js';
import { migrationPortOf, type VmSpec } from '../activities/qemu/vm-spec.js';

/** The spec of the bed's index-th guest: its address, MAC and migration port follow from the index. */
export function labVmSpec(inv: BedInventory, index: number, opts: { name: string; memoryMiB?: number; vcpus?: number }): VmSpec {
  const ip = guestIp(inv.plan, index);
  return {
    name: opts.name,
    memoryMiB: opts.memoryMiB ?? 256,
    vcpus: opts.vcpus ?? 1,
    kernel: inv.guest.kernel,
    initrd: inv.guest.initrd,
    guestCidr: `${ip}/${inv.plan.prefix}`,
    mac: guestMac(ip),
    migrationPort: migrationPortOf(index),
  };
}

export const guestAddress = (spec: VmSpec): string => spec.guestCidr.split('/')[0]!;

export function guestSsh(inv: Pick<Site, 'privateKey' | 'knownHosts'>, spec: VmSpec): SshTarget {
  return { host: guestAddress(spec), port: 22, user: 'root', privateKeyPath: inv.privateKey, knownHostsPath: inv.knownHosts };
}

/**
 * One ICMP echo with a 1 s wait: true when the address answered. With `via` (the bed's controller
 * interface) the echo is bound to that interface, so it can never leave through another route,
 * e.g. after the bed is gone.
 */
export async function pingOnce(ip: string, via?: string): Promise<boolean> {
  try {
    await run('ping', ['-n', '-q', '-c', '1', '-W', '1', ...(via ? ['-I', via] : []), ip], { timeoutMs: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Waits until the address answers ping; returns the time it took. */
export async function waitForPing(ip: string, timeoutMs: number, via?: string, onTick?: (elapsedMs: number) => void): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    onTick?.(Date.now() - start);
    if (await pingOnce(ip, via)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${ip} did not answer ping within ${timeoutMs} ms`);
}
