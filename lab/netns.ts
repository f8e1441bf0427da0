/**
 * The bed's network: one switch namespace holding a bridge, one namespace per host with its own
 * bridge (so a guest's tap joins the same L2 segment on every host and keeps its IP when it
 * moves), and one veth from the controller (root namespace) into the switch.
 * Every step checks what exists first, so `up` can be re-run after a crash half-way.
 */
import { BENCHMARK_NET } from './addressing.js';
import { run, tryRun } from '../lib/exec.js';
import { processAlive as alive } from '../lib/process.js';
import { MAX_HOSTS, type BedPlan } from './addressing.js';
import { MIGRATION_PORT_BASE } from '../activities/qemu/vm-spec.js';
import { NBD_PORT_OFFSET } from '../activities/qemu/disk-move.js';

/**
 * The ports a bed host's destinations listen on (a migration port and an NBD port per lane), taken
 * out of the host's ephemeral range: an outgoing connection given one of them would make QEMU's
 * listen fail, or (libvirt's default listen address) leave it listening on IPv6 alone.
 */
export const reservedPorts = (): string =>
  [MIGRATION_PORT_BASE, MIGRATION_PORT_BASE + NBD_PORT_OFFSET].map((p) => `${p}-${p + MAX_HOSTS - 1}`).join(',');

export const SWITCH_BRIDGE = 'sw0';
export const HOST_BRIDGE = 'br0';
export const HOST_UPLINK = 'eth0';
const CONTROLLER_PORT = 'p-ctl';

const ip = (args: string[]) => run('ip', args);

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'netns', 'list']);
  return stdout.split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean);
}

const linkExists = (netns: string | undefined, name: string) =>
  tryRun('ip', [...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name]);

async function ensureNetns(name: string): Promise<void> {
  if (!(await listNetns()).includes(name)) await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

async function ensureBridge(netns: string, name: string): Promise<void> {
  if (!(await linkExists(netns, name))) await ip(['-n', netns, 'link', 'add', name, 'type', 'bridge']);
  await ip(['-n', netns, 'link', 'set', name, 'up']);
}

export async function networkUp(plan: BedPlan): Promise<void> {
  // Nothing for the benchmarking range may leave this machine: with no bed up to route it (a
  // guest's SSH after the bed went down, a probe of a stale address), the default route would
  // carry it out. This route answers such packets "unreachable" here; a bed's own subnet routes
  // are more specific and win while it is up. Kept after the bed goes down, on purpose.
  await ip(['route', 'replace', 'unreachable', BENCHMARK_NET]);
  const sw = plan.switchNetns;
  await ensureNetns(sw);
  await ensureBridge(sw, SWITCH_BRIDGE);

  if (!(await linkExists(undefined, plan.controllerIf))) {
    await ip(['link', 'add', plan.controllerIf, 'type', 'veth', 'peer', 'name', CONTROLLER_PORT, 'netns', sw]);
  }
  await ip(['-n', sw, 'link', 'set', CONTROLLER_PORT, 'master', SWITCH_BRIDGE, 'up']);
  await ip(['addr', 'replace', `${plan.controllerIp}/${plan.prefix}`, 'dev', plan.controllerIf]);
  await ip(['link', 'set', plan.controllerIf, 'up']);

  for (const h of plan.hosts) {
    await ensureNetns(h.netns);
    if (!(await linkExists(h.netns, HOST_UPLINK))) {
      // A leftover switch port from a crash whose host side is gone would block the new pair.
      if (await linkExists(sw, h.switchPort)) await ip(['-n', sw, 'link', 'del', h.switchPort]);
      await ip(['-n', h.netns, 'link', 'add', HOST_UPLINK, 'type', 'veth', 'peer', 'name', h.switchPort, 'netns', sw]);
    }
    await ip(['-n', sw, 'link', 'set', h.switchPort, 'master', SWITCH_BRIDGE, 'up']);
    await ensureBridge(h.netns, HOST_BRIDGE);
    await ip(['-n', h.netns, 'link', 'set', HOST_UPLINK, 'master', HOST_BRIDGE, 'up']);
    await ip(['-n', h.netns, 'addr', 'replace', `${h.ip}/${plan.prefix}`, 'dev', HOST_BRIDGE]);
    await ip(['netns', 'exec', h.netns, 'sysctl', '-qw', `net.ipv4.ip_local_reserved_ports=${reservedPorts()}`]);
  }
}

/** Processes whose network namespace is the given one (QEMU, sshd, anything else left there). */
export async function netnsPids(netns: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', netns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}


/** Ends every process in the namespace: TERM, a grace period, then KILL. */
export async function killNetnsProcesses(netns: string, graceMs = 3000): Promise<number> {
  const pids = await netnsPids(netns);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* raced to exit */
    }
  }
  return pids.length;
}

/** Removes everything a bed of this name may have created, whether or not `up` finished. */
export async function networkDown(bed: string, controllerIf: string): Promise<{ namespaces: string[]; processes: number }> {
  const prefix = `miglab-${bed}-`;
  const namespaces = (await listNetns()).filter((n) => n.startsWith(prefix));
  let processes = 0;
  for (const ns of namespaces) processes += await killNetnsProcesses(ns);
  for (const ns of namespaces) await ip(['netns', 'del', ns]);
  // Deleting the switch namespace destroys the controller veth's peer and so the veth itself,
  // but only eventually; delete it here so that `down` returns with it gone.
  if (await linkExists(undefined, controllerIf)) await tryRun('ip', ['link', 'del', controllerIf]);
  return { namespaces, processes };
}
