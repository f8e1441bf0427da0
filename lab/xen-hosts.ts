/**
 * Xen hosts on the bed: on each bed host, a QEMU (TCG) machine that boots Debian's Xen with a
 * busybox dom0 (lab/xen/build-host.sh). Its NIC is a tap on the host's bridge, so dom0 and its
 * domUs are on the bed network; dom0 answers SSH at its own address. The hosts share a folder
 * (9p) that holds the guest's kernel and initrd and offline migrations' save images: the shared
 * storage `xl save`/`xl restore` move a VM through.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { UserError } from '../lib/errors.js';
import { statePaths } from '../lib/paths.js';
import { pidFromFile, processAlive } from '../lib/process.js';
import { guestMac, xenDom0Ip, type BedPlan } from './addressing.js';
import { HOST_BRIDGE } from './netns.js';
import { waitForPort } from './sshd.js';

/** Where a Xen domU's files live in dom0 (its own tmpfs) and the shared folder's mount point. */
export const XEN_RUN_DIR = '/run/miglab';
export const XEN_SHARED_DIR = '/shared';
export const XEN_BRIDGE = 'xenbr0';
const TAP = 'tap-xen';
/** the machine each Xen host is: enough for dom0 and two guests of the paper's size */
const MACHINE_MIB = 1024;
const DOM0_MIB = 384;

export interface XenImage {
  xen: string;
  dom0Initrd: string;
  hostKeyPub: string;
  kernel: string;
}

export function xenImage(paths = statePaths()): XenImage {
  return {
    xen: join(paths.xen, 'xen'),
    dom0Initrd: join(paths.xen, 'dom0-initrd.img'),
    hostKeyPub: join(paths.xen, 'dom0_host_key.pub'),
    kernel: join(paths.guest, 'vmlinuz'),
  };
}

export function xenImageProblem(img = xenImage()): string | undefined {
  const missing = [img.xen, img.dom0Initrd, img.hostKeyPub, img.kernel].find((f) => !existsSync(f));
  return missing ? `the bed's Xen host image is not built (${missing} is missing)` : undefined;
}

export interface XenHostFiles {
  dir: string;
  pid: string;
  console: string;
  /** QEMU's monitor (QMP): how a hung Xen host is looked into (`info registers` through human-monitor-command) */
  qmp: string;
}

export const xenHostFiles = (hostDir: string): XenHostFiles => ({
  dir: join(hostDir, 'xen'),
  pid: join(hostDir, 'xen', 'qemu.pid'),
  console: join(hostDir, 'xen', 'console.log'),
  qmp: join(hostDir, 'xen', 'qmp.sock'),
});

/** The shared folder on the controller's side, and where the guest image sits in it. */
export const xenSharedDir = (bedDir: string) => join(bedDir, 'xen-shared');

/** QEMU's arguments for one Xen host: Xen as a multiboot kernel, dom0's kernel and initramfs as modules. */
export function xenHostArgs(o: { name: string; ip: string; prefix: number; peers: readonly string[]; img: XenImage; files: XenHostFiles; shared: string }): string[] {
  // Multiboot modules are separated by commas, so the dom0 command line cannot hold one.
  const dom0Cmdline = `console=hvc0 miglab.name=${o.name} miglab.ip=${o.ip}/${o.prefix} miglab.peers=${o.peers.join('+')}`;
  return [
    '-name', `xen-${o.name},process=miglab-xen-${o.name}`,
    '-accel', 'tcg', '-machine', 'q35',
    // Xen needs SVM with nested paging for PVH guests (TCG emulates both); SMAP/SMEP crash its PV
    // dom0 under TCG. One CPU: with two, Xen finds their TSCs unsynchronized and emulates the
    // guests' rdtsc, and under QEMU's emulated SVM a guest then died mid-migration (a triple
    // fault right after an rdtsc in pvclock_clocksource_read); with one, the TSC counts as safe.
    '-cpu', 'max', '-m', String(MACHINE_MIB), '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', `file:${o.files.console}`,
    '-kernel', o.img.xen,
    // spec-ctrl=eager-fpu: on a CPU it does not know to leak through #NM (TCG's `max` is one), Xen
    // hands a PV vCPU's FPU state over lazily (CR0.TS and #NM). So, dom0's processes crashed while
    // a domU on the same CPU was busy: 3-4 segfaults in 5 min of dom0 commands, none with the domU
    // idle, none with eager switching or with `-cpu max,-xsave` (measured; see docs/backends.md).
    // Presumably they ran with the domU's vector registers: it crashed xl and its save helper in
    // busy live migrations.
    '-append', `console=com1 com1=115200 dom0_mem=${DOM0_MIB}M,max:${DOM0_MIB}M smap=false smep=false spec-ctrl=eager-fpu`,
    '-initrd', `${o.img.kernel} ${dom0Cmdline},${o.img.dom0Initrd}`,
    '-netdev', `tap,id=n0,ifname=${TAP},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=n0,mac=${guestMac(o.ip)},romfile=`,
    '-fsdev', `local,id=fs0,path=${o.shared},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=fs0,mount_tag=shared',
    '-qmp', `unix:${o.files.qmp},server=on,wait=off`,
    '-pidfile', o.files.pid,
    '-daemonize',
  ];
}

export interface XenHostPlan {
  name: string;
  netns: string;
  dom0Ip: string;
  files: XenHostFiles;
}

/** The bed's Xen hosts: one per bed host, addressed from the plan. */
export function planXenHosts(plan: BedPlan, bedDir: string): XenHostPlan[] {
  return plan.hosts.map((h, i) => ({ name: h.name, netns: h.netns, dom0Ip: xenDom0Ip(plan, i), files: xenHostFiles(join(bedDir, 'hosts', h.name)) }));
}

/**
 * Boots the Xen hosts that are not running yet (all at once: each takes about 30 s under TCG) on
 * the bed hosts named (default: every one) and waits until every dom0 accepts SSH. The caller
 * checks that `xl` answers. Each dom0 knows every planned peer, booted or not, so one booted later
 * is reachable from the others.
 */
export async function ensureXenHosts(plan: BedPlan, bedDir: string, log: (l: string) => void, paths = statePaths(), on?: ReadonlySet<string>): Promise<XenHostPlan[]> {
  const img = xenImage(paths);
  const problem = xenImageProblem(img);
  if (problem) throw new UserError(problem, 'run `bash scripts/setup.sh` (it builds the Xen host image with lab/xen/build-host.sh)');
  const shared = xenSharedDir(bedDir);
  await mkdir(join(shared, 'guest'), { recursive: true });
  for (const f of ['vmlinuz', 'initrd.img']) await copyFile(join(paths.guest, f), join(shared, 'guest', f));
  const planned = planXenHosts(plan, bedDir);
  const hosts = on ? planned.filter((x) => on.has(x.name)) : planned;
  const started: XenHostPlan[] = [];
  for (const x of hosts) {
    const pid = pidFromFile(x.files.pid);
    if (pid !== undefined && processAlive(pid)) continue;
    await mkdir(x.files.dir, { recursive: true });
    const ip = (args: string[]) => run('ip', ['-n', x.netns, ...args]);
    await ip(['link', 'show', 'dev', TAP]).catch(() => ip(['tuntap', 'add', 'dev', TAP, 'mode', 'tap']));
    await ip(['link', 'set', 'dev', TAP, 'master', HOST_BRIDGE, 'up']);
    const peers = planned.filter((p) => p.name !== x.name).map((p) => p.dom0Ip);
    const args = xenHostArgs({ name: x.name, ip: x.dom0Ip, prefix: plan.prefix, peers, img, files: x.files, shared });
    await run('ip', ['netns', 'exec', x.netns, 'qemu-system-x86_64', ...args]);
    log(`Xen host ${x.name}: booting, dom0 ${x.dom0Ip}`);
    started.push(x);
  }
  for (const x of started) {
    const t0 = Date.now();
    await waitForPort(x.dom0Ip, 22, 180_000).catch(async (err: Error) => {
      const tail = existsSync(x.files.console) ? (await readFile(x.files.console, 'utf8')).split('\n').slice(-15).join('\n') : '(no console)';
      throw new Error(`Xen host ${x.name} (dom0 ${x.dom0Ip}) did not come up: ${err.message}\nlast console lines:\n${tail}`);
    });
    log(`Xen host ${x.name}: dom0 answers SSH after ${((Date.now() - t0) / 1000).toFixed(1)} s more`);
  }
  return hosts;
}
