/**
 * The QEMU backend: runs `qemu-system-x86_64` on bed hosts over SSH and drives it through QMP,
 * whose Unix socket is reached through the same SSH connection (no QMP TCP port anywhere).
 */
import { sleep } from '../../lib/sleep.js';
import { QmpClient, QmpCommandError } from '../qmp/client.js';
import { listenPorts, PORT_IN_USE, withPortHolders } from '../port-holders.js';
import { incomingSettings, migrationCapabilities, migrationParameters } from './migration-tuning.js';
import type { SshPool, SshTarget } from '../ssh/pool.js';
import { commandLine, quote } from '../ssh/shell-quote.js';
import { nonZeroGuestMiB } from './non-zero-pages.js';
import { TCG_DEFAULT, type GuestCpu } from './guest-cpu.js';
import { qemuVersionCommand, readHost, type HostProvenance } from '../host-provenance.js';
import { hostNamed, leaveIfSuperseded, stateBeforeStart, stopReason, type HypervisorBackend, type ListedVm, type MigrationParams, type MigrationProgress, type MigrationResult, type MigrationWatch, type PostcopySwitch, type VmState } from '../backend.js';
import { diskPrepCommands, parseQemuVersion, qemuArgs, ramArg, tapName, vmFiles, type QemuVersion, type VmSpec } from './vm-spec.js';
import { closeMirrorTarget, dropMirror, exportDisk, finishMirror, mirrorUntilReady, nbdBytesCommand, nbdPort, unexportDisk, virtualSize, type DiskMove } from './disk-move.js';

export interface QemuHost {
  name: string;
  ip: string;
  bridge: string;
  runDir: string;
  ssh: SshTarget;
}

export interface QemuBackendDeps {
  pool: SshPool;
  hosts: readonly QemuHost[];
  /** how often to poll query-migrate */
  pollIntervalMs?: number;
  /** give up on a migration that has not finished after this long */
  migrationTimeoutMs?: number;
  qemuBinary?: string;
  /**
   * 'off' starts VMs with their exact RAM size even on a QEMU that loses TCG guest writes during
   * migration (see needsDirtySyncPadding); only the test that shows that bug wants it.
   */
  dirtySyncPadding?: 'auto' | 'off';
  /**
   * Leave a migrated guest paused on the destination (`cont` runs it), so that its RAM can be
   * compared with the source's as the migration left them; only the dirty-tracking test wants it.
   */
  arrivePaused?: boolean;
  /** each host's accelerator and guest CPU model (resolved before the campaign starts); default TCG, qemu64 */
  guestCpu?: Readonly<Record<string, GuestCpu>>;
}

/** The parts of QMP's query-migrate that miglab reads (see qapi/migration.json: MigrationInfo). */
export interface QueryMigrate {
  status?: string;
  'total-time'?: number;
  'setup-time'?: number;
  downtime?: number;
  'expected-downtime'?: number;
  'error-desc'?: string;
  ram?: {
    transferred: number;
    remaining: number;
    total: number;
    'dirty-sync-count': number;
    mbps: number;
    'dirty-pages-rate': number;
    'precopy-bytes'?: number;
    'downtime-bytes'?: number;
    'postcopy-bytes'?: number;
    /** bytes sent over multifd channels (multifd on) */
    'multifd-bytes'?: number;
  };
  /** XBZRLE's counters (xbzrle on): bytes sent encoded, pages, cache misses */
  'xbzrle-cache'?: { 'cache-size': number; bytes: number; pages: number; 'cache-miss': number; 'cache-miss-rate': number; overflow: number };
  /**
   * not QEMU's: the Xen backend's record of a move it measured from outside (xl reports no
   * statistics): live or offline, the interface whose byte counter gave MD, xl's log lines,
   * restarts, and the process crashes each dom0's kernel logged while the move was followed
   */
  xen?: { mode: 'live' | 'offline'; interface: string; log: string; restarts?: unknown[]; dom0Segfaults?: Record<string, number | null> };
  /** not QEMU's: the copy of a local disk that moved with the VM (QEMU's RAM figures never count it) */
  disk?: DiskMove;
  /** not QEMU's: when miglab paused the guest (a pause level), by the migration's clock and passes */
  paused?: { atMs: number; atPass: number };
}

export function progressOf(q: QueryMigrate): MigrationProgress {
  return {
    status: q.status ?? 'none',
    elapsedMs: q['total-time'] ?? 0,
    transferredBytes: q.ram?.transferred ?? 0,
    remainingBytes: q.ram?.remaining ?? 0,
    totalBytes: q.ram?.total ?? 0,
    iterations: q.ram?.['dirty-sync-count'] ?? 0,
    mbps: q.ram?.mbps ?? 0,
    dirtyPagesRate: q.ram?.['dirty-pages-rate'] ?? 0,
  };
}

/**
 * query-migrate as the source of an outgoing migration sees it. QEMU reports the outgoing
 * migration's state once there is one, and until then an incoming migration's (the source's
 * 'none' does not overwrite it): a QEMU that arrived by migration says 'completed', with no
 * figures, before its own move starts — and for a moment after `migrate`, until the connection is
 * up. Only a source's 'completed' has figures (ram, total-time): without them it is no migration yet.
 */
export function outgoing(info: QueryMigrate): QueryMigrate {
  return info.status === 'completed' && info.ram === undefined ? { status: 'none' } : info;
}

/** A completed migration as miglab records it, from a query-migrate(-shaped) final record. */
export function completedResult(final: QueryMigrate, polls: number, switched: PostcopySwitch | undefined): MigrationResult {
  return {
    status: 'completed',
    totalTimeMs: final['total-time'] ?? 0,
    downtimeMs: final.downtime ?? 0,
    setupTimeMs: final['setup-time'] ?? 0,
    transferredBytes: final.ram?.transferred ?? 0,
    iterations: final.ram?.['dirty-sync-count'] ?? 0,
    polls,
    final: final as Record<string, unknown>,
    ...(switched ? { postcopy: switched } : {}),
  };
}

/** A QEMU process's resident set in MiB, read from /proc through its pid file; null if it runs no more. */
export async function qemuRssMiB(pool: SshPool, ssh: SshTarget, pidFile: string): Promise<number | null> {
  const r = await pool.execShell(ssh, `grep '^VmRSS:' /proc/"$(cat ${quote(pidFile)})"/status`, { allowFailure: true });
  const kb = /VmRSS:\s+(\d+) kB/.exec(r.stdout)?.[1];
  return kb ? Math.round(Number(kb) / 102.4) / 10 : null;
}


export class QemuBackend implements HypervisorBackend {
  private readonly pollIntervalMs: number;
  private readonly migrationTimeoutMs: number;
  private readonly qemu: string;
  private readonly versions = new Map<string, Promise<QemuVersion | undefined>>();

  constructor(private readonly deps: QemuBackendDeps) {
    this.pollIntervalMs = deps.pollIntervalMs ?? 100;
    this.migrationTimeoutMs = deps.migrationTimeoutMs ?? 10 * 60_000;
    this.qemu = deps.qemuBinary ?? 'qemu-system-x86_64';
  }

  private host(name: string): QemuHost {
    return hostNamed(this.deps.hosts, name);
  }

  /** how this host runs guest code */
  guestCpu(hostName: string): GuestCpu {
    return this.deps.guestCpu?.[hostName] ?? TCG_DEFAULT;
  }

  /** The QEMU version installed on a host, asked once per host. */
  qemuVersion(hostName: string): Promise<QemuVersion | undefined> {
    let v = this.versions.get(hostName);
    if (!v) {
      v = this.deps.pool.exec(this.host(hostName).ssh, [this.qemu, '--version'], { allowFailure: true }).then((r) => parseQemuVersion(r.stdout));
      v.catch(() => this.versions.delete(hostName));
      this.versions.set(hostName, v);
    }
    return v;
  }

  /** Opens QMP for one exchange and closes it after: QEMU serves one QMP client at a time. */
  async withQmp<T>(hostName: string, vm: string, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const h = this.host(hostName);
    const stream = await this.deps.pool.openUnixSocket(h.ssh, vmFiles(h.runDir, vm).qmp);
    const qmp = await QmpClient.connect(stream);
    try {
      return await fn(qmp);
    } finally {
      qmp.close();
    }
  }

  async describeHost(hostName: string): Promise<HostProvenance> {
    const r = await readHost(this.deps.pool, this.host(hostName).ssh, [qemuVersionCommand(this.qemu)]);
    return { host: hostName, kernel: r.kernel, cpuModel: r.cpuModel, hypervisor: 'qemu', hypervisorVersion: r.versions[0] ?? null, accelerator: this.guestCpu(hostName).accel, guestCpu: this.guestCpu(hostName).cpu };
  }

  consoleFile(hostName: string, vm: string): string {
    return vmFiles(this.host(hostName).runDir, vm).console;
  }

  allocatedMiB(hostName: string, vm: string): Promise<number | null> {
    return qemuRssMiB(this.deps.pool, this.host(hostName).ssh, vmFiles(this.host(hostName).runDir, vm).pid);
  }

  nonZeroMiB(hostName: string, vm: string, memoryMiB: number): Promise<number | null> {
    return nonZeroGuestMiB(this.deps.pool, this.host(hostName).ssh, vmFiles(this.host(hostName).runDir, vm).pid, memoryMiB);
  }

  /** True when the VM's QEMU process (per its pid file) is alive and its QMP socket exists. */
  private async processAlive(hostName: string, vm: string): Promise<boolean> {
    const h = this.host(hostName);
    const f = vmFiles(h.runDir, vm);
    const r = await this.deps.pool.execShell(
      h.ssh,
      `test -S ${quote(f.qmp)} && test -f ${quote(f.pid)} && kill -0 "$(cat ${quote(f.pid)})"`,
      { allowFailure: true },
    );
    return r.code === 0;
  }

  async vmState(hostName: string, vm: string): Promise<VmState> {
    if (!(await this.processAlive(hostName, vm))) return { kind: 'absent' };
    const status = await this.withQmp(hostName, vm, (q) => q.execute<{ status: string; running: boolean }>('query-status'));
    switch (status.status) {
      case 'running':
        return { kind: 'running' };
      case 'inmigrate':
        return { kind: 'incoming' };
      case 'postmigrate':
        return { kind: 'migrated-away' };
      default:
        return { kind: 'paused', reason: status.status };
    }
  }

  /**
   * Starts the VM, or readies it to receive one. Its disk, if any: a fresh start writes to a new
   * qcow2 overlay on the image; an incoming VM on shared storage opens the source's overlay, and on
   * local storage gets an empty disk of `diskBytes` that the move fills.
   */
  async startVm(hostName: string, spec: VmSpec, opts: { incoming?: boolean; diskBytes?: number } = {}): Promise<void> {
    const state = await stateBeforeStart(this, (host, vm) => this.ownerOf(host, vm), hostName, spec);
    const want = opts.incoming ? 'incoming' : 'running';
    if (state.kind === want) return;
    if (state.kind !== 'absent') {
      throw new Error(`VM ${spec.name} on ${hostName} is ${state.kind}, cannot start it ${opts.incoming ? 'for an incoming migration' : ''}`.trim());
    }
    const h = this.host(hostName);
    const f = vmFiles(h.runDir, spec.name);
    const tap = tapName(spec.name);
    const ram = this.deps.dirtySyncPadding === 'off' ? `${spec.memoryMiB}M` : ramArg(spec.memoryMiB, await this.qemuVersion(hostName));
    const diskPrep = spec.disk ? diskPrepCommands({ name: spec.name, disk: spec.disk }, f, { incoming: !!opts.incoming, diskBytes: opts.diskBytes }) : [];
    const script = [
      `mkdir -p ${quote(h.runDir)}`,
      `rm -f ${quote(f.qmp)} ${quote(f.pid)} ${quote(f.owner)}`,
      ...diskPrep,
      ...(spec.owner !== undefined ? [`printf %s ${quote(spec.owner)} > ${quote(f.owner)}`] : []),
      `{ ip link show dev ${quote(tap)} >/dev/null 2>&1 || ip tuntap add dev ${quote(tap)} mode tap; }`,
      `ip link set dev ${quote(tap)} master ${quote(h.bridge)} up`,
      commandLine([this.qemu, ...qemuArgs(spec, f, { incoming: !!opts.incoming, ram, guest: this.guestCpu(hostName), arrivePaused: !!this.deps.arrivePaused })]),
    ].join(' && ');
    await this.deps.pool.execShell(h.ssh, script);
  }

  async migrate(
    src: string,
    dst: string,
    spec: VmSpec,
    params: MigrationParams,
    watch: MigrationWatch = {},
  ): Promise<MigrationResult> {
    const result = await this.run(src, dst, spec, params, watch, { offline: false });
    // paused by a pause level before it left: resumed where it arrived
    if (result.status === 'completed' && params.tuning?.pause) await this.resumeIfPaused(dst, spec.name);
    return result;
  }

  async migrateOffline(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch = {}): Promise<MigrationResult> {
    const result = await this.run(src, dst, spec, params, watch, { offline: true });
    if (result.status === 'completed') await this.resumeIfPaused(dst, spec.name);
    return result;
  }

  /** A VM that was paused when it left stays paused on arrival: resume it there. */
  private async resumeIfPaused(host: string, vm: string): Promise<void> {
    const state = await this.vmState(host, vm);
    if (state.kind === 'paused') await this.withQmp(host, vm, (q) => q.execute('cont'));
  }

  private async run(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch, mode: { offline: boolean }): Promise<MigrationResult> {
    const vm = spec.name;
    const uri = `tcp:${this.host(dst).ip}:${spec.migrationPort}`;
    const current = outgoing(await this.withQmp(src, vm, (q) => q.execute<QueryMigrate>('query-migrate')));
    let diskCopyMs: number | null = null;
    const underWay = current.status === 'setup' || current.status === 'active' || current.status === 'device' || current.status === 'pre-switchover';
    // each step of the set-up shows the step alive (starting the destination took 13 s on a busy machine)
    const alive = (doing: string) => watch.onPoll?.(doing);
    alive(`checking for a migration of ${vm} under way`);
    if (!underWay && current.status !== 'completed') {
      // Not started yet (or an earlier attempt failed/was cancelled): prepare the destination, then go.
      // A destination left over from a cancelled attempt has given up on its stream: start afresh.
      const dstState = await this.vmState(dst, vm);
      if (dstState.kind !== 'absent' && dstState.kind !== 'incoming') {
        throw new Error(`VM ${vm} is ${dstState.kind} on ${dst}: refusing to migrate onto it`);
      }
      if (dstState.kind === 'incoming') await this.stopVm(dst, vm);
      const localDisk = spec.disk?.storage === 'local';
      const postcopy = !mode.offline && !!params.postcopy;
      if (localDisk && postcopy) throw new Error(`VM ${vm}: post-copy with a local disk is not supported (the disk must be in step before switchover)`);
      // an offline move runs untuned: the stop-and-copy sends everything once
      const tuning = mode.offline ? undefined : params.tuning;
      const diskBytes = localDisk ? await this.withQmp(src, vm, (q) => virtualSize(q)) : undefined;
      alive(`starting ${vm}'s destination on ${dst}`);
      await this.startVm(dst, spec, { incoming: true, diskBytes });
      alive(`${vm}'s destination on ${dst} waits for the migration`);
      await this.withQmp(dst, vm, async (q) => {
        if (localDisk) await exportDisk(q, this.host(dst).ip, nbdPort(spec));
        // Post-copy and multifd need their capability (and multifd its channels) on both ends before the stream starts.
        const incoming = incomingSettings(tuning, postcopy);
        if (postcopy || tuning?.multifd) {
          await q.execute('migrate-set-capabilities', { capabilities: incoming.capabilities });
          if (Object.keys(incoming.parameters).length) await q.execute('migrate-set-parameters', incoming.parameters);
        }
        try {
          await q.execute('migrate-incoming', { uri });
        } catch (err) {
          // A retried step may find the destination already listening; that is the state we want.
          if (err instanceof QmpCommandError && /incoming migration has already been started/i.test(err.desc)) return;
          if (err instanceof Error && PORT_IN_USE.test(err.message)) throw new Error(await withPortHolders(this.deps.pool, this.host(dst), listenPorts(spec), err.message));
          throw err;
        }
      });
      const early = await this.withQmp(src, vm, async (q): Promise<MigrationResult | undefined> => {
        if (mode.offline) await q.execute('stop');
        if (localDisk) {
          const mirrored = await mirrorUntilReady(q, {
            host: this.host(dst).ip,
            port: nbdPort(spec),
            speed: params.maxBandwidth,
            pollMs: this.pollIntervalMs,
            timeoutMs: this.migrationTimeoutMs,
            watch,
          });
          if (!mirrored.ok) return { status: mirrored.cancelled ? ('cancelled' as const) : ('failed' as const), error: mirrored.reason, polls: 0, last: undefined };
          diskCopyMs = mirrored.copyMs;
        }
        const context = { postcopy, pauseBeforeSwitchover: localDisk || !!tuning?.pauseBeforeSwitchover, autoConverge: params.autoConverge ?? null };
        await q.execute('migrate-set-capabilities', { capabilities: migrationCapabilities(tuning, context) });
        await q.execute('migrate-set-parameters', {
          'max-bandwidth': params.maxBandwidth,
          'downtime-limit': params.downtimeLimitMs,
          ...migrationParameters(tuning, context),
        });
        // A retry may have started the migration meanwhile: this attempt leaves it to the retry.
        leaveIfSuperseded(watch, `starting the migration of ${vm}`);
        await q.execute('migrate', { uri });
        return undefined;
      });
      if (early) return early;
    }
    const result = await this.follow(src, dst, spec, watch, mode.offline ? null : (params.postcopy ?? null), diskCopyMs, mode.offline ? null : (params.tuning?.pause?.afterPasses ?? null));
    if (result.status === 'completed' && spec.disk?.storage === 'local') await this.withQmp(dst, vm, (q) => unexportDisk(q));
    return result;
  }

  /**
   * Polls query-migrate on the source until the migration ends or the timeout passes. With
   * post-copy permitted, a migration that has made its passes (or that the watch would give up on)
   * is switched to post-copy instead of cancelled; once switched it runs to its end.
   */
  private async follow(src: string, dst: string, spec: VmSpec, watch: MigrationWatch, postcopy: { afterPasses: number } | null, diskCopyMs: number | null, pauseAfter: number | null): Promise<MigrationResult> {
    const vm = spec.name;
    const started = Date.now();
    let disk: DiskMove | undefined;
    let polls = 0;
    let last: MigrationProgress | undefined;
    let abortReason: string | undefined;
    let switched: PostcopySwitch | undefined;
    let paused: { atMs: number; atPass: number } | undefined;
    return this.withQmp(src, vm, async (q) => {
      // A local disk's size from its node, read while the guest runs (not in the downtime): the
      // mirror job's total also counts blocks written again mid-copy.
      const diskSize = spec.disk?.storage === 'local' ? await virtualSize(q) : null;
      for (;;) {
        const info = outgoing(await q.execute<QueryMigrate>('query-migrate'));
        // before this attempt decides anything: a retry follows the migration now
        leaveIfSuperseded(watch, `following the migration of ${vm}`);
        polls++;
        last = progressOf(info);
        watch.onProgress?.(last);
        // A retried step that finds post-copy already running knows it switched (when is lost).
        if (info.status?.startsWith('postcopy') && !switched) switched = { atMs: last.elapsedMs, atPass: last.iterations, reason: 'found in post-copy' };
        if (info.status === 'pre-switchover' && abortReason === undefined) {
          // Paused before switchover (a local disk, or the trial's level): finish the disk copy and
          // count it, then go on. (After a migrate_cancel QEMU leaves this state by itself, to cancelled.)
          if (spec.disk?.storage === 'local') {
            const done = await finishMirror(q, this.pollIntervalMs);
            const port = nbdPort(spec);
            const sent = await this.deps.pool.execShell(this.host(src).ssh, nbdBytesCommand(this.host(dst).ip, port), { allowFailure: true });
            await closeMirrorTarget(q);
            const bytes = Number.parseInt(sent.stdout.trim(), 10);
            disk = { storage: 'local', virtualBytes: diskSize, mirroredBytes: done.mirroredBytes, sentBytes: Number.isFinite(bytes) ? bytes : null, copyMs: diskCopyMs, syncMs: done.syncMs };
          }
          await q.execute('migrate-continue', { state: 'pre-switchover' });
          await sleep(this.pollIntervalMs);
          continue;
        }
        if (info.status === 'completed') {
          return completedResult({ ...info, ...(disk ? { disk } : {}), ...(paused ? { paused } : {}) }, polls, switched);
        }
        if (info.status === 'failed' || info.status === 'cancelled') {
          // the guest runs on at the source: paused by miglab, it goes on again
          if (paused) await q.execute('cont');
          // the guest runs on at the source: its disk is its own again
          if (spec.disk?.storage === 'local') await dropMirror(q, this.pollIntervalMs);
          return { status: info.status, error: abortReason ?? info['error-desc'] ?? info.status, polls, last, ...(switched ? { postcopy: switched } : {}) };
        }
        if (abortReason === undefined && !switched) {
          const stop = stopReason(watch, last, { startedAt: started, timeoutMs: this.migrationTimeoutMs });
          const giveUp = stop?.reason;
          // dirty-sync-count counts the bitmap syncs: pass n has finished when it reaches n + 1.
          const passesDone = Math.max(0, last.iterations - 1);
          // A level's passes made: a level of 0 counts from setup, since QEMU takes `stop` and
          // migrate-start-postcopy once the migration has started; waiting for a poll to see
          // 'active' let a first pass that ended between two polls converge in precopy, the level
          // never honoured.
          const passesMade = (n: number) => passesDone >= n && (info.status === 'active' || (info.status === 'setup' && n === 0));
          if (pauseAfter !== null && !paused && !stop && passesMade(pauseAfter)) {
            // guestperf's pause: the guest stops; what it dirtied goes over with it standing still
            await q.execute('stop');
            paused = { atMs: last.elapsedMs, atPass: passesDone };
          }
          if (postcopy && !stop?.cancelled && (passesMade(postcopy.afterPasses) || (info.status === 'active' && giveUp !== undefined))) {
            await q.execute('migrate-start-postcopy');
            switched = { atMs: last.elapsedMs, atPass: passesDone, reason: giveUp ?? `precopy made ${passesDone} pass${passesDone === 1 ? '' : 'es'}` };
          } else if (giveUp !== undefined) {
            // Cancel and keep polling until QEMU says cancelled: the VM then runs on the source again.
            abortReason = giveUp;
            await q.execute('migrate_cancel');
          }
        }
        await sleep(this.pollIntervalMs);
      }
    });
  }

  /** The guest's dirty rate in MiB/s as QEMU samples it (calc-dirty-rate), or null if unsupported. */
  async measureDirtyRate(hostName: string, vm: string, seconds = 1): Promise<number | null> {
    return this.withQmp(hostName, vm, async (q) => {
      try {
        await q.execute('calc-dirty-rate', { 'calc-time': seconds });
      } catch (err) {
        if (err instanceof QmpCommandError) return null;
        throw err;
      }
      for (let i = 0; i < 50 + seconds * 20; i++) {
        const r = await q.execute<{ status: string; 'dirty-rate'?: number }>('query-dirty-rate');
        if (r.status === 'measured') return r['dirty-rate'] ?? null;
        await sleep(100);
      }
      return null;
    });
  }

  /** Every VM this host has files for (a pid file in its run dir), with its state and owner. */
  async listVms(hostName: string): Promise<ListedVm[]> {
    const h = this.host(hostName);
    const r = await this.deps.pool.execShell(h.ssh, `cd ${quote(h.runDir)} 2>/dev/null && ls -1 -- *.pid 2>/dev/null; true`);
    const names = r.stdout.split('\n').map((l) => l.trim().replace(/\.pid$/, '')).filter(Boolean);
    const out: ListedVm[] = [];
    for (const name of names) {
      // QEMU's QMP socket takes one client: while a trial's step holds it, the state cannot be read
      const state = await this.vmState(hostName, name).catch((err: Error): ListedVm['state'] => ({
        kind: 'unreadable',
        reason: /greeting/.test(err.message) ? `its QMP socket is held by another client (a running trial's step): ${err.message}` : err.message,
      }));
      out.push({ name, state, owner: await this.ownerOf(hostName, name) });
    }
    return out;
  }

  /** The trial a VM was started for, if it was started with an owner. */
  private async ownerOf(hostName: string, vm: string): Promise<string | undefined> {
    const r = await this.deps.pool.exec(this.host(hostName).ssh, ['cat', vmFiles(this.host(hostName).runDir, vm).owner], { allowFailure: true });
    return r.code === 0 ? r.stdout : undefined;
  }

  async stopVm(hostName: string, vm: string, opts: { owner?: string } = {}): Promise<'stopped' | 'not-ours'> {
    const h = this.host(hostName);
    const f = vmFiles(h.runDir, vm);
    if (opts.owner !== undefined) {
      const owner = await this.ownerOf(hostName, vm);
      if (owner !== undefined && owner !== opts.owner) return 'not-ours';
    }
    if (await this.processAlive(hostName, vm)) {
      await this.withQmp(hostName, vm, async (q) => {
        // QEMU closes the socket as it exits; that ends the reply too, so a lost reply is fine.
        await q.execute('quit').catch(() => undefined);
      }).catch(() => undefined);
    }
    // Whatever QMP did, make sure the process is gone, then remove its tap and files.
    const pid = quote(f.pid);
    await this.deps.pool.execShell(
      h.ssh,
      [
        `if test -f ${pid}; then p=$(cat ${pid}); for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null; fi`,
        `ip link del dev ${quote(tapName(vm))} 2>/dev/null`,
        `rm -f ${quote(f.qmp)} ${pid} ${quote(f.owner)} ${quote(f.localDisk)}`,
        'true',
      ].join('; '),
    );
    return 'stopped';
  }
}
