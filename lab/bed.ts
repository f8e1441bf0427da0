/**
 * `miglab lab up|down|status`: the local test bed. Hosts are network namespaces with their own
 * sshd, sharing this machine's filesystem (as the paper's hosts share storage).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../lib/errors.js';
import { statePaths } from '../lib/paths.js';
import { controllerIfName, guestIp, planBed, type BedPlan } from './addressing.js';
import { HOST_BRIDGE, listNetns, netnsPids, networkDown, networkUp } from './netns.js';
import { assertNoProblems, labProblems } from './prereqs.js';
import { ensureHostKey, ensureSshd, sshdFiles } from './sshd.js';
import { ensureMountNs, releaseMountNs } from './mount-ns.js';
import { ensureLibvirtd, libvirtdFiles } from './libvirtd.js';
import { ensureXenHosts, planXenHosts, XEN_BRIDGE, XEN_RUN_DIR, xenImage } from './xen-hosts.js';
import type { Site } from './site.js';
import type { SshTarget } from '../activities/ssh/pool.js';
import { bootKernel } from './boot-kernel.js';

export const DEFAULT_BED = { bed: 'lab', subnet: '198.18.0.0/24', hosts: ['hosta', 'hostb'] } as const;

export interface BedHost {
  name: string;
  ip: string;
  netns: string;
  bridge: string;
  ssh: SshTarget;
  /** where QEMU keeps this host's sockets, pid files and logs (on the shared filesystem) */
  runDir: string;
}

/** A bed is a site (see site.ts) whose probe leaves by the controller's veth. */
export interface BedInventory extends Site {
  plan: BedPlan;
  dir: string;
  knownHosts: string;
  privateKey: string;
  guest: { kernel: string; initrd: string };
  hosts: BedHost[];
  probeVia: string;
  /** the bed's Xen hosts (`lab up --xen`): one per bed host, reached at its dom0 */
  xen?: { hosts: BedHost[] } | undefined;
  /** the test run (MIGLAB_TEST_RUN) that brought the bed up, when one did */
  testRun?: string;
}

const inventorySchema = z.object({
  plan: z.object({ bed: z.string(), subnet: z.string(), prefix: z.number() }).passthrough(),
  dir: z.string(),
  knownHosts: z.string(),
  privateKey: z.string(),
  guest: z.object({ kernel: z.string(), initrd: z.string() }),
  hosts: z.array(z.object({ name: z.string(), ip: z.string(), netns: z.string(), bridge: z.string(), runDir: z.string() }).passthrough()),
  xen: z.object({ hosts: z.array(z.object({ name: z.string(), ip: z.string(), runDir: z.string() }).passthrough()) }).optional(),
  testRun: z.string().optional(),
});

export const bedDir = (bed: string, paths = statePaths()) => join(paths.lab, bed);
/** the ssh command bed hosts reach each other with */
export const peerSshPath = (bed: string, paths = statePaths()) => join(bedDir(bed, paths), 'peer-ssh');
/** where the hosts' mount namespaces are pinned (see mount-ns.ts) */
const mountNsDir = (bed: string, paths = statePaths()) => join(bedDir(bed, paths), 'mnt');
const inventoryPath = (bed: string, paths = statePaths()) => join(bedDir(bed, paths), 'bed.json');

function inventoryFor(plan: BedPlan, paths = statePaths()): BedInventory {
  const dir = bedDir(plan.bed, paths);
  const knownHosts = join(dir, 'known_hosts');
  return {
    plan,
    dir,
    knownHosts,
    privateKey: paths.labKey,
    probeVia: plan.controllerIf,
    clientAddress: plan.controllerIp,
    guest: { kernel: bootKernel(paths.guest), initrd: join(paths.guest, 'initrd.img') },
    hosts: plan.hosts.map((h) => ({
      name: h.name,
      ip: h.ip,
      netns: h.netns,
      bridge: HOST_BRIDGE,
      runDir: join(dir, 'hosts', h.name, 'run'),
      ssh: { host: h.ip, port: 22, user: 'root', privateKeyPath: paths.labKey, knownHostsPath: knownHosts },
    })),
  };
}

export interface UpOptions {
  bed?: string;
  subnet?: string;
  hosts?: readonly string[];
  /** also run a libvirtd on every host (for `hypervisor: libvirt` campaigns) */
  libvirt?: boolean;
  /**
   * also boot a Xen host on every host (true), or on the hosts named (for campaigns with Xen
   * pairs: a bed host runs its QEMU guests or its Xen host's); those booted before stay listed
   */
  xen?: boolean | readonly string[];
}

export async function labUp(opts: UpOptions = {}, log: (line: string) => void = () => {}): Promise<BedInventory> {
  assertNoProblems(labProblems());
  const plan = planBed({ bed: opts.bed ?? DEFAULT_BED.bed, subnet: opts.subnet ?? DEFAULT_BED.subnet, hosts: opts.hosts ?? DEFAULT_BED.hosts });
  const unknown = Array.isArray(opts.xen) ? opts.xen.filter((n) => !plan.hosts.some((h) => h.name === n)) : [];
  if (unknown.length) throw new UserError(`no bed host ${unknown.join(', ')} to boot a Xen host on (the bed's hosts: ${plan.hosts.map((h) => h.name).join(', ')})`, 'name hosts of the bed after --xen, or add them with --hosts');
  const paths = statePaths();
  const existing = await readInventory(plan.bed).catch(() => undefined);
  if (existing && JSON.stringify(existing.plan) !== JSON.stringify(plan)) {
    throw new UserError(
      `bed "${plan.bed}" is already up with another layout (${existing.plan.subnet}, hosts ${existing.plan.hosts.map((h) => h.name).join(',')})`,
      `run \`miglab lab down --bed ${plan.bed}\` first, or bring it up with the same options`,
    );
  }
  const inv = inventoryFor(plan, paths);
  await mkdir(inv.dir, { recursive: true });
  log(`network: switch ${plan.switchNetns}, controller ${plan.controllerIp} on ${plan.controllerIf}`);
  await networkUp(plan);

  const known: string[] = [];
  for (const h of plan.hosts) {
    const files = sshdFiles(join(inv.dir, 'hosts', h.name));
    const key = await ensureHostKey(files);
    known.push(`${h.ip} ${key}`);
    await mkdir(join(files.dir, 'run'), { recursive: true });
  }
  // Guests share one image and so one host key; list each address of the guest pool.
  const guestKey = (await readFile(join(paths.guest, 'ssh_host_key.pub'), 'utf8')).trim();
  // The Debian disk guest, when built, takes the same addresses with its own key.
  const debianKeyFile = join(paths.debianGuest, 'ssh_host_key.pub');
  const debianKey = existsSync(debianKeyFile) ? (await readFile(debianKeyFile, 'utf8')).trim() : undefined;
  for (let i = 0; ; i++) {
    let addr: string;
    try {
      addr = guestIp(plan, i);
    } catch {
      break;
    }
    known.push(`${addr} ${guestKey}`);
    if (debianKey) known.push(`${addr} ${debianKey}`);
  }
  // Every Xen host's dom0 has the host key its image was built with.
  const xenKeyFile = xenImage(paths).hostKeyPub;
  if (existsSync(xenKeyFile)) {
    const xenKey = (await readFile(xenKeyFile, 'utf8')).trim();
    for (const x of planXenHosts(plan, inv.dir)) known.push(`${x.dom0Ip} ${xenKey}`);
  }
  await writeFile(inv.knownHosts, known.join('\n') + '\n');
  // How one host reaches another over SSH (libvirt's peer connection): the bed's key, and only
  // the host keys the bed lists.
  await writeFile(peerSshPath(plan.bed, paths), [
    '#!/bin/sh',
    `exec ssh -F /dev/null -i ${paths.labKey} -o IdentitiesOnly=yes -o UserKnownHostsFile=${inv.knownHosts} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });

  for (const h of plan.hosts) {
    const hostDir = join(inv.dir, 'hosts', h.name);
    const ns = await ensureMountNs({ nsDir: mountNsDir(plan.bed, paths), host: h.name, netns: h.netns, privateRoot: libvirtdFiles(hostDir).root });
    log(`host ${h.name}: ${h.ip} in ${h.netns}, sshd${opts.libvirt ? ', libvirtd' : ''}`);
    await ensureSshd(h, sshdFiles(hostDir), `${paths.labKey}.pub`, ns);
    if (opts.libvirt) await ensureLibvirtd(ns, libvirtdFiles(hostDir));
  }
  const wanted = new Set([...(opts.xen === true ? plan.hosts.map((h) => h.name) : opts.xen || []), ...(existing?.xen?.hosts.map((h) => h.name) ?? [])]);
  if (wanted.size) {
    const xen = opts.xen ? await ensureXenHosts(plan, inv.dir, log, paths, wanted) : planXenHosts(plan, inv.dir).filter((x) => wanted.has(x.name));
    inv.xen = {
      hosts: xen.map((x) => ({
        name: x.name,
        ip: x.dom0Ip,
        netns: x.netns,
        bridge: XEN_BRIDGE,
        runDir: XEN_RUN_DIR,
        ssh: { host: x.dom0Ip, port: 22, user: 'root', privateKeyPath: paths.labKey, knownHostsPath: inv.knownHosts },
      })),
    };
  }
  // A test run stops only the beds it brought up (test/helpers/global-setup.ts): say which.
  const testRun = process.env.MIGLAB_TEST_RUN ?? existing?.testRun;
  if (testRun) inv.testRun = testRun;
  await writeFile(inventoryPath(plan.bed, paths), JSON.stringify(inv, null, 2) + '\n');
  return inv;
}

export async function readInventory(bed: string = DEFAULT_BED.bed): Promise<BedInventory> {
  const p = inventoryPath(bed);
  if (!existsSync(p)) throw new UserError(`bed "${bed}" is not up (no ${p})`, `run \`miglab lab up${bed === DEFAULT_BED.bed ? '' : ` --bed ${bed}`}\``);
  const parsed = inventorySchema.safeParse(JSON.parse(await readFile(p, 'utf8')));
  if (!parsed.success) throw new UserError(`${p} is damaged: ${parsed.error.message}`, `run \`miglab lab down --bed ${bed}\` and \`miglab lab up\` again`);
  const inv = parsed.data as unknown as BedInventory;
  return { ...inv, probeVia: inv.plan.controllerIf, clientAddress: inv.plan.controllerIp };
}

export async function labDown(bed: string = DEFAULT_BED.bed): Promise<{ namespaces: string[]; processes: number }> {
  // Works from names alone, so that it also cleans up after an `up` that crashed before bed.json.
  const result = await networkDown(bed, controllerIfName(bed));
  await releaseMountNs(mountNsDir(bed));
  await rm(bedDir(bed), { recursive: true, force: true });
  return result;
}

export interface BedStatus {
  bed: string;
  up: boolean;
  namespaces: string[];
  processes: Record<string, number>;
}

export async function labStatus(bed: string = DEFAULT_BED.bed): Promise<BedStatus> {
  const namespaces = (await listNetns()).filter((n) => n.startsWith(`miglab-${bed}-`));
  const processes: Record<string, number> = {};
  for (const ns of namespaces) processes[ns] = (await netnsPids(ns)).length;
  return { bed, up: existsSync(inventoryPath(bed)) && namespaces.length > 0, namespaces, processes };
}
