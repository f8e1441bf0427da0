/**
 * The libvirt backend: drives each host's libvirtd with `virsh` over SSH, as libvirt users migrate.
 * The VM is a persistent domain on the source; a migration is `virsh migrate` (live, or plain for
 * the offline fallback: libvirt pauses the guest, moves it and resumes it on arrival) run in the
 * background on the source host, followed through `domjobinfo --rawstats`, steered with
 * `migrate-postcopy` and stopped with `domjobabort`. The migration stream goes straight from
 * QEMU to QEMU (--migrateuri), the control flow through the peer's libvirtd over SSH.
 */
import { virshTuningArgs } from './tuning-args.js';
import { sleep } from '../../lib/sleep.js';
import { qemuVersionCommand, readHost, type HostProvenance } from '../host-provenance.js';
import { hostNamed, leaveIfSuperseded, stateBeforeStart, stopReason, type HypervisorBackend, type ListedVm, type MigrationParams, type MigrationProgress, type MigrationResult, type MigrationWatch, type PostcopySwitch, type VmState } from '../backend.js';
import { completedResult, qemuRssMiB, type QemuHost } from '../qemu/backend.js';
import { nonZeroGuestMiB } from '../qemu/non-zero-pages.js';
import { diskFile, diskPrepCommands, vmFiles, type VmSpec } from '../qemu/vm-spec.js';
import { TCG_DEFAULT, type GuestCpu } from '../qemu/guest-cpu.js';
import type { SshPool } from '../ssh/pool.js';
import { commandLine, quote } from '../ssh/shell-quote.js';
import { nbdBytesCommand, nbdPort } from '../qemu/disk-move.js';
import { listenPorts, PORT_IN_USE, withPortHolders } from '../port-holders.js';
import { domainXml, METADATA_URI, ownerFromMetadata } from './domain-xml.js';
import { finalOfJob, JOB_OPERATION, JOB_TYPE, parseJobStats, progressOfJob, type JobStats } from './job-stats.js';

export interface LibvirtBackendDeps {
  pool: SshPool;
  hosts: readonly QemuHost[];
  /** the URI the source's virsh reaches the destination's libvirtd by */
  peerUri: (dst: QemuHost) => string;
  /** each host's accelerator and guest CPU model (resolved before the campaign starts); default TCG, qemu64 */
  guestCpu?: Readonly<Record<string, GuestCpu>>;
  /** a QEMU binary (or wrapper) for libvirt to run instead of its default */
  emulator?: string;
  pollIntervalMs?: number;
  migrationTimeoutMs?: number;
}

const VIRSH = ['virsh', '-q', '-c', 'qemu:///system'];
/** where libvirtd writes each domain's QEMU output (Debian's default; a bed host's own folder) */
const LIBVIRT_QEMU_LOG_DIR = '/var/log/libvirt/qemu';
/** libvirt's words when the source could not connect to the destination's QEMU */
const REFUSED = /unable to connect to server at .*Connection refused/i;

const MiB = 2 ** 20;

/** Files of one VM's migration on the source host: the background virsh's log, exit code and final stats. */
const migrationFiles = (runDir: string, vm: string) => ({
  xml: `${runDir}/${vm}.xml`,
  dstXml: `${runDir}/${vm}.dest.xml`,
  log: `${runDir}/${vm}.migrate.log`,
  rc: `${runDir}/${vm}.migrate.rc`,
  stats: `${runDir}/${vm}.migrate.stats`,
});

export class LibvirtBackend implements HypervisorBackend {
  private readonly pollIntervalMs: number;
  private readonly migrationTimeoutMs: number;

  constructor(private readonly deps: LibvirtBackendDeps) {
    this.pollIntervalMs = deps.pollIntervalMs ?? 100;
    this.migrationTimeoutMs = deps.migrationTimeoutMs ?? 10 * 60_000;
  }

  private host(name: string): QemuHost {
    return hostNamed(this.deps.hosts, name);
  }

  /** how this host runs guest code */
  guestCpu(host: string): GuestCpu {
    return this.deps.guestCpu?.[host] ?? TCG_DEFAULT;
  }

  private virsh(host: string, args: readonly (string | number)[], opts: { allowFailure?: boolean; stdin?: string } = {}) {
    return this.deps.pool.exec(this.host(host).ssh, [...VIRSH, ...args], opts);
  }

  async describeHost(host: string): Promise<HostProvenance> {
    const r = await readHost(this.deps.pool, this.host(host).ssh, [`${VIRSH.join(' ')} version --daemon | sed -n 's/^Running against daemon: *//p'`, qemuVersionCommand(this.deps.emulator ?? 'qemu-system-x86_64')]);
    const guest = this.guestCpu(host);
    return {
      host, kernel: r.kernel, cpuModel: r.cpuModel, hypervisor: 'libvirt',
      hypervisorVersion: [r.versions[0] ? `libvirtd ${r.versions[0]}` : null, r.versions[1]].filter(Boolean).join(' / ') || null,
      accelerator: guest.accel,
      guestCpu: guest.cpu,
    };
  }

  consoleFile(hostName: string, vm: string): string {
    return vmFiles(this.host(hostName).runDir, vm).console;
  }

  allocatedMiB(host: string, vm: string): Promise<number | null> {
    return qemuRssMiB(this.deps.pool, this.host(host).ssh, `/run/libvirt/qemu/${vm}.pid`);
  }

  nonZeroMiB(host: string, vm: string, memoryMiB: number): Promise<number | null> {
    return nonZeroGuestMiB(this.deps.pool, this.host(host).ssh, `/run/libvirt/qemu/${vm}.pid`, memoryMiB);
  }

  async vmState(host: string, vm: string): Promise<VmState> {
    const r = await this.virsh(host, ['domstate', vm, '--reason'], { allowFailure: true });
    if (r.code !== 0) {
      if (/failed to get domain|not found/i.test(r.stderr)) return { kind: 'absent' };
      throw new Error(`virsh domstate ${vm} on ${host}: ${r.stderr.trim()}`);
    }
    const m = /^\s*([a-z ]+?)\s*(?:\(([^)]*)\))?\s*$/.exec(r.stdout.trim().split('\n')[0] ?? '');
    const state = m?.[1] ?? r.stdout.trim();
    const reason = m?.[2] ?? '';
    switch (state) {
      case 'running':
      case 'in shutdown':
        return { kind: 'running' };
      case 'paused':
      case 'pmsuspended': {
        if (reason === 'post-copy') return { kind: 'migrated-away' };
        if (reason === 'migration' || reason === 'starting up') {
          const job = await this.jobStats(host, vm);
          if (job?.stats.operation === JOB_OPERATION.migrationIn) return { kind: 'incoming' };
        }
        return { kind: 'paused', reason: reason || state };
      }
      default: // shut off, crashed: no QEMU process for it here
        return { kind: 'absent' };
    }
  }

  private async jobStats(host: string, vm: string, completed = false): Promise<JobStats | undefined> {
    const r = await this.virsh(host, ['domjobinfo', vm, '--rawstats', ...(completed ? ['--completed', '--keep-completed'] : [])], { allowFailure: true });
    return r.code === 0 ? parseJobStats(r.stdout) : undefined;
  }

  private async ownerOf(host: string, vm: string): Promise<string | undefined> {
    const r = await this.virsh(host, ['metadata', vm, METADATA_URI], { allowFailure: true });
    return r.code === 0 ? ownerFromMetadata(r.stdout) : undefined;
  }

  /** The domain as it runs on one host. */
  private xml(spec: VmSpec, h: QemuHost): string {
    const f = vmFiles(h.runDir, spec.name);
    return domainXml(spec, {
      bridge: h.bridge, console: f.console, guest: this.guestCpu(h.name),
      ...(this.deps.emulator ? { emulator: this.deps.emulator } : {}),
      ...(spec.disk ? { diskFile: diskFile({ name: spec.name, disk: spec.disk }, f) } : {}),
    });
  }

  /** Starts the domain on a host. An incoming VM needs nothing: libvirt starts it as the migration begins. */
  async startVm(host: string, spec: VmSpec, opts: { incoming?: boolean } = {}): Promise<void> {
    if (opts.incoming) return;
    const state = await stateBeforeStart(this, (h, vm) => this.ownerOf(h, vm), host, spec);
    if (state.kind === 'running') return;
    if (state.kind !== 'absent') throw new Error(`VM ${spec.name} on ${host} is ${state.kind}, cannot start it`);
    const h = this.host(host);
    const f = vmFiles(h.runDir, spec.name);
    const m = migrationFiles(h.runDir, spec.name);
    const xml = this.xml(spec, h);
    const virsh = commandLine(VIRSH);
    await this.deps.pool.execShell(
      h.ssh,
      [`mkdir -p ${quote(h.runDir)}`, `rm -f ${quote(f.console)} ${quote(m.rc)} ${quote(m.stats)}`, ...(spec.disk ? diskPrepCommands({ name: spec.name, disk: spec.disk }, f, { incoming: false }) : []), `cat > ${quote(m.xml)}`, `${virsh} define ${quote(m.xml)} >/dev/null`, `${virsh} start ${quote(spec.name)} >/dev/null`].join(' && '),
      { stdin: xml },
    );
  }

  migrate(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch = {}): Promise<MigrationResult> {
    return this.run(src, dst, spec, params, watch, false);
  }

  async migrateOffline(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch = {}): Promise<MigrationResult> {
    const result = await this.run(src, dst, spec, params, watch, true);
    if (result.status === 'completed' && (await this.vmState(dst, spec.name)).kind === 'paused') await this.virsh(dst, ['resume', spec.name]);
    return result;
  }

  private async readRc(src: string, vm: string): Promise<number | undefined> {
    const h = this.host(src);
    const r = await this.deps.pool.exec(h.ssh, ['cat', migrationFiles(h.runDir, vm).rc], { allowFailure: true });
    return r.code === 0 && /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : undefined;
  }

  /**
   * One poll, one SSH round trip: the background virsh's exit code (once it has ended) read
   * before the job's statistics, so a job that ends between the two reads is seen next round.
   */
  private async poll(src: string, vm: string, nbd?: { dstIp: string; port: number }): Promise<{ rc: number | undefined; job: JobStats | undefined; nbdBytes: number | null }> {
    const h = this.host(src);
    const sockets = nbd ? `; echo '--'; ${nbdBytesCommand(nbd.dstIp, nbd.port)}` : '';
    const r = await this.deps.pool.execShell(h.ssh, `cat ${quote(migrationFiles(h.runDir, vm).rc)} 2>/dev/null; echo '--'; ${commandLine([...VIRSH, 'domjobinfo', vm, '--rawstats'])} 2>&1${sockets}`, { allowFailure: true });
    const [rcText = '', jobText = '', socketText] = r.stdout.split(/^--$/m);
    const rc = /^\s*(\d+)\s*$/.exec(rcText)?.[1];
    return {
      rc: rc === undefined ? undefined : Number(rc),
      job: /^Job type:/m.test(jobText) ? parseJobStats(jobText) : undefined,
      nbdBytes: nbd && /^\s*\d+\s*$/.test(socketText ?? '') ? Number(socketText!.trim()) : null,
    };
  }

  private async run(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch, offline: boolean): Promise<MigrationResult> {
    const vm = spec.name;
    const h = this.host(src);
    const d = this.host(dst);
    const m = migrationFiles(h.runDir, vm);
    // each command of the set-up shows the step alive: on a busy machine they took 35 s together
    const alive = (doing: string) => watch.onPoll?.(doing);
    const job = await this.jobStats(src, vm);
    const underWay = job?.type === JOB_TYPE.unbounded && job.stats.operation === JOB_OPERATION.migrationOut;
    const finished = !underWay && (await this.readRc(src, vm)) !== undefined;
    alive(`checking for a migration of ${vm} under way`);
    if (!underWay && !finished) {
      const dstState = await this.vmState(dst, vm);
      if (dstState.kind !== 'absent') throw new Error(`VM ${vm} is ${dstState.kind} on ${dst}: refusing to migrate onto it`);
      const postcopy = !offline && !!params.postcopy;
      const ac = offline ? null : (params.autoConverge ?? null);
      await this.virsh(src, ['migrate-setmaxdowntime', vm, params.downtimeLimitMs]);
      alive(`setting ${vm}'s downtime limit`);
      // The domain as the destination runs it: the same machine with its console in the
      // destination's run dir (hosts sharing a filesystem must not share the file).
      const dstFiles = vmFiles(d.runDir, vm);
      await this.deps.pool.execShell(d.ssh, `mkdir -p ${quote(d.runDir)} && rm -f ${quote(dstFiles.console)}`);
      const live = (await this.virsh(src, ['dumpxml', '--migratable', vm])).stdout;
      alive(`writing ${vm}'s domain for ${dst}`);
      const srcConsole = vmFiles(h.runDir, vm).console;
      if (!live.includes(`'${srcConsole}'`)) throw new Error(`domain ${vm} on ${src} has no console at ${srcConsole}: not a domain miglab defined`);
      let dstXml = live.split(`'${srcConsole}'`).join(`'${dstFiles.console}'`);
      const localDisk = spec.disk?.storage === 'local';
      if (localDisk) {
        // The disk moves (--copy-storage-all): into an empty image of its size in the destination's
        // run dir, which the domain there opens instead of the source's copy (and with no backing).
        if (postcopy) throw new Error(`VM ${vm}: post-copy with a local disk is not supported (the disk must be in step before switchover)`);
        const srcDisk = diskFile({ name: vm, disk: spec.disk! }, vmFiles(h.runDir, vm));
        const dstDisk = diskFile({ name: vm, disk: spec.disk! }, dstFiles);
        const size = await this.diskCapacity(src, vm);
        if (size === undefined) throw new Error(`virsh domblkinfo ${vm} vda on ${src} gave no capacity`);
        await this.deps.pool.execShell(d.ssh, diskPrepCommands({ name: vm, disk: spec.disk! }, dstFiles, { incoming: true, diskBytes: size }).join(' && '));
        alive(`preparing ${vm}'s disk on ${dst}`);
        dstXml = dstXml.split(`'${srcDisk}'`).join(`'${dstDisk}'`).replace(/<backingStore[\s\S]*?<\/backingStore>/g, '<backingStore/>');
      }
      await this.deps.pool.execShell(h.ssh, `cat > ${quote(m.dstXml)}`, { stdin: dstXml });
      const argv = [
        ...VIRSH, 'migrate', ...(offline ? [] : ['--live']), '--persistent',
        ...(offline ? [] : virshTuningArgs(params.tuning, ac)),
        ...(postcopy ? ['--postcopy'] : []),
        // the NBD port named, as QEMU's backend uses it: libvirt's own pick may be the migration port
        ...(localDisk ? ['--copy-storage-all', '--migrate-disks', 'vda', '--disks-port', nbdPort(spec)] : []),
        // libvirt refuses a disk on a filesystem it does not know to be shared (NFS, GFS2, CephFS …:
        // "Unsafe migration: Migration without shared storage is unsafe", measured on the bed, whose
        // hosts share one local filesystem) even with cache='none'; `hosts check` has checked that
        // the image's folder is one filesystem on both hosts, and the disk is opened uncached
        ...(spec.disk?.storage === 'shared' ? ['--unsafe'] : []),
        '--bandwidth', Math.max(1, Math.round(params.maxBandwidth / MiB)),
        '--xml', m.dstXml, '--persistent-xml', m.dstXml,
        // The destination listens on the address the source connects to, as QEMU's backend does.
        // libvirt's default, [::], is silently IPv6-only when anything holds the port on IPv4
        // (QEMU then binds with IPV6_V6ONLY): the source met 'Connection refused' in both attempts
        // of a fresh-clone CI's trial; with the address named, such a port is a bind error.
        '--listen-address', d.ip,
        vm, this.deps.peerUri(d), '--migrateuri', `tcp://${d.ip}:${spec.migrationPort}`,
      ];
      // A retry may have started the migration meanwhile: a second virsh migrate would fail and
      // write its exit code where the retry reads the migration's.
      leaveIfSuperseded(watch, `starting the migration of ${vm}`);
      // In the background, so the migration outlives this SSH session (and a worker that dies).
      await this.deps.pool.execShell(
        h.ssh,
        `rm -f ${quote(m.rc)} ${quote(m.stats)}; setsid sh -c ${quote(`${commandLine(argv)}; echo $? > ${quote(m.rc)}`)} > ${quote(m.log)} 2>&1 < /dev/null &`,
      );
    }
    const nbd = spec.disk?.storage === 'local' ? { dst, dstIp: d.ip, port: nbdPort(spec) } : undefined;
    return this.follow(src, dst, spec, watch, offline ? null : (params.postcopy ?? null), nbd);
  }

  private async follow(src: string, dst: string, spec: VmSpec, watch: MigrationWatch, postcopy: { afterPasses: number } | null, nbd?: { dst: string; dstIp: string; port: number }): Promise<MigrationResult> {
    const vm = spec.name;
    // a local disk's bytes on the wire: the most any poll saw on the VM's NBD connection (libvirt
    // closes it as the migration completes, so the last writes after the last poll are not counted)
    let nbdBytes: number | null = null;
    const h = this.host(src);
    const m = migrationFiles(h.runDir, vm);
    const started = Date.now();
    let polls = 0;
    let last: MigrationProgress | undefined;
    let abortReason: string | undefined;
    let switched: PostcopySwitch | undefined;
    for (;;) {
      const p = await this.poll(src, vm, nbd);
      // before this attempt decides anything: a retry follows the migration now
      leaveIfSuperseded(watch, `following the migration of ${vm}`);
      watch.onPoll?.();
      const { rc, job } = p;
      if (p.nbdBytes !== null) nbdBytes = Math.max(nbdBytes ?? 0, p.nbdBytes);
      if (rc === undefined) {
        if (job?.type === JOB_TYPE.unbounded) {
          polls++;
          last = progressOfJob(job, switched ? 'postcopy-active' : 'active');
          watch.onProgress?.(last);
          if (abortReason === undefined && !switched && job.stats.memory_total) {
            const stop = stopReason(watch, last, { startedAt: started, timeoutMs: this.migrationTimeoutMs });
            const giveUp = stop?.reason;
            const passesDone = Math.max(0, last.iterations - 1);
            if (postcopy && !stop?.cancelled && (giveUp !== undefined || passesDone >= postcopy.afterPasses)) {
              await this.virsh(src, ['migrate-postcopy', vm]);
              switched = { atMs: last.elapsedMs, atPass: passesDone, reason: giveUp ?? `precopy made ${passesDone} pass${passesDone === 1 ? '' : 'es'}` };
            } else if (giveUp !== undefined) {
              abortReason = giveUp;
              await this.virsh(src, ['domjobabort', vm], { allowFailure: true });
            }
          }
        }
        await sleep(this.pollIntervalMs);
        continue;
      }
      watch.onPoll?.(`reading how the migration of ${vm} ended`);
      if (rc === 0) return this.completed(src, vm, polls, switched, nbd ? { dst: nbd.dst, nbdBytes } : undefined);
      // This attempt is over: the next one starts afresh rather than reading its exit code.
      await this.deps.pool.exec(h.ssh, ['rm', '-f', m.rc]);
      const log = (await this.deps.pool.exec(h.ssh, ['cat', m.log], { allowFailure: true })).stdout.trim();
      const said = log.split('\n').filter((l) => /error/i.test(l)).join('; ') || log || `virsh migrate exited ${rc}`;
      const error = PORT_IN_USE.test(said) ? await withPortHolders(this.deps.pool, this.host(dst), listenPorts(spec), said)
        : REFUSED.test(said) ? await this.refusedClues(dst, vm, said) : said;
      return { status: abortReason ? 'cancelled' : 'failed', error: abortReason ?? error, polls, last, ...(switched ? { postcopy: switched } : {}) };
    }
  }

  /**
   * A refused connection to the destination's QEMU, with what its log says last on the destination
   * (started, killed by libvirtd, crashed): libvirt removes the domain after the failure, so this is
   * what is left of why nothing listened.
   */
  private async refusedClues(dst: string, vm: string, error: string): Promise<string> {
    const r = await this.deps.pool.exec(this.host(dst).ssh, ['tail', '-n', '3', `${LIBVIRT_QEMU_LOG_DIR}/${vm}.log`], { allowFailure: true }).catch(() => undefined);
    const tail = r?.code === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ') : '';
    return tail ? `${error} (${dst}'s QEMU log of ${vm} ends: ${tail})` : error;
  }

  /**
   * The source's statistics of the completed job, kept in a file first (a retried step finds them
   * there), then the source's now stopped definition removed: the domain lives on the destination.
   */
  private async completed(src: string, vm: string, polls: number, switched: PostcopySwitch | undefined, disk?: { dst: string; nbdBytes: number | null }): Promise<MigrationResult> {
    const h = this.host(src);
    const m = migrationFiles(h.runDir, vm);
    let text = (await this.deps.pool.exec(h.ssh, ['cat', m.stats], { allowFailure: true })).stdout;
    if (!/^Job type:/m.test(text)) {
      const r = await this.virsh(src, ['domjobinfo', vm, '--rawstats', '--completed', '--keep-completed']);
      text = r.stdout;
      await this.deps.pool.execShell(h.ssh, `cat > ${quote(m.stats)}`, { stdin: text });
    }
    const job = parseJobStats(text);
    if ((await this.vmState(src, vm)).kind === 'absent') await this.virsh(src, ['undefine', vm], { allowFailure: true });
    const final = finalOfJob(job);
    if (!final.disk || !disk) return completedResult(final, polls, switched);
    // libvirt's disk_total is its mirror job's work, which grows with what the guest rewrites during
    // the copy (2048.56 MiB for a 2 GiB disk under redis, measured): the disk's size is the
    // domain's capacity where it now runs, and the bytes on the wire are ours
    const capacity = await this.diskCapacity(disk.dst, vm, { allowFailure: true });
    return completedResult({ ...final, disk: { ...final.disk, ...(capacity ? { virtualBytes: capacity } : {}), sentBytes: disk.nbdBytes } }, polls, switched);
  }

  /** The size in bytes of the domain's disk (vda) on a host, as virsh reports its capacity; undefined when it says none. */
  private async diskCapacity(host: string, vm: string, opts: { allowFailure?: boolean } = {}): Promise<number | undefined> {
    const size = /^Capacity:\s+(\d+)/m.exec((await this.virsh(host, ['domblkinfo', vm, 'vda'], opts)).stdout)?.[1];
    return size ? Number(size) : undefined;
  }

  /** The guest's dirty rate in MiB/s as libvirt samples it (domdirtyrate-calc), or null if unsupported. */
  async measureDirtyRate(host: string, vm: string, seconds = 1): Promise<number | null> {
    const start = await this.virsh(host, ['domdirtyrate-calc', vm, '--seconds', seconds], { allowFailure: true });
    if (start.code !== 0) return null;
    for (let i = 0; i < 50 + seconds * 20; i++) {
      await sleep(100);
      const r = await this.virsh(host, ['domstats', vm, '--dirtyrate'], { allowFailure: true });
      if (/dirtyrate\.calc_status=2\b/.test(r.stdout)) {
        const v = /dirtyrate\.megabytes_per_second=(\d+)/.exec(r.stdout)?.[1];
        return v === undefined ? null : Number(v);
      }
    }
    return null;
  }

  async listVms(host: string): Promise<ListedVm[]> {
    const r = await this.virsh(host, ['list', '--all', '--name']);
    const out = [];
    for (const name of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
      out.push({ name, state: await this.vmState(host, name), owner: await this.ownerOf(host, name) });
    }
    return out;
  }

  async stopVm(host: string, vm: string, opts: { owner?: string } = {}): Promise<'stopped' | 'not-ours'> {
    if (opts.owner !== undefined) {
      const owner = await this.ownerOf(host, vm);
      if (owner !== undefined && owner !== opts.owner) return 'not-ours';
    }
    const h = this.host(host);
    const m = migrationFiles(h.runDir, vm);
    const virsh = commandLine(VIRSH);
    // A migration still running from here would recreate the domain elsewhere: abort it first.
    await this.deps.pool.execShell(
      h.ssh,
      [`${virsh} domjobabort ${quote(vm)} >/dev/null 2>&1`, `${virsh} destroy ${quote(vm)} >/dev/null 2>&1`, `${virsh} undefine ${quote(vm)} >/dev/null 2>&1`, `rm -f ${quote(m.xml)} ${quote(m.dstXml)} ${quote(m.rc)} ${quote(m.stats)} ${quote(vmFiles(h.runDir, vm).localDisk)}`, 'true'].join('; '),
    );
    const state = await this.vmState(host, vm);
    if (state.kind !== 'absent') throw new Error(`VM ${vm} on ${host} is still ${state.kind} after destroy`);
    return 'stopped';
  }
}
