/**
 * The Xen backend: drives each host's toolstack with `xl` over SSH to dom0. A live migration is
 * `xl migrate` run in the background on the source (its stream goes over the SSH command given by
 * `-s`, as xl does by default); an offline one is `xl save` into the hosts' shared storage and
 * `xl restore` on the destination. xl has no bandwidth cap, no downtime limit and no statistics:
 * Xen's precopy makes a fixed number of passes and then stops the guest and copies what is left,
 * so a workload it cannot keep up with shows as a long downtime, not as a failure. miglab measures
 * from outside: TMT with dom0's clock around the `xl` command, MD from the byte counter of the
 * source's migration interface, DT with the probe. Each metric is labelled so (see metrics.ts).
 */
import { sleep } from '../../lib/sleep.js';
import { readHost, type HostProvenance } from '../host-provenance.js';
import { HostUnhealthy, hostNamed, leaveIfSuperseded, stateBeforeStart, stopReason, type HypervisorBackend, type ListedVm, type MigrationParams, type MigrationProgress, type MigrationResult, type MigrationWatch, type VmState } from '../backend.js';
import { completedResult, type QemuHost, type QueryMigrate } from '../qemu/backend.js';
import type { VmSpec } from '../qemu/vm-spec.js';
import type { SshPool } from '../ssh/pool.js';
import { quote } from '../ssh/shell-quote.js';
import { domainConfig } from './domain-config.js';
import { ACCEPTED_FILE, healthScript, judgeDom0, parseDom0Reading, SEGFAULT_COUNT } from './dom0-health.js';
import { migrateErrors, parseXlList, vmNames, xenVmState, type XlDomain } from './xl-output.js';

export interface XenBackendDeps {
  pool: SshPool;
  hosts: readonly QemuHost[];
  /** a folder every host mounts at the same path: offline migrations' save images go there */
  sharedDir: string;
  /** the command `xl migrate -s` reaches the destination's dom0 with (xl appends HOST and the remote command) */
  sshCommand?: string;
  /** dom0's interface the migration stream leaves by: its tx_bytes is the Migration Data */
  migrationInterface?: string;
  vifScript?: string | undefined;
  hideCpuid?: readonly string[];
  /** each poll costs dom0 (slow under TCG) an SSH command: every 3 s by default */
  pollIntervalMs?: number;
  migrationTimeoutMs?: number;
  /** a live transfer that sends (almost) nothing this long is cut as hung: 120 s by default */
  hungAfterMs?: number;
}

const MiB = 2 ** 20;
const MAX_RESTARTS = 2;
/** a live transfer that sends less than this in hungAfterMs has hung */
const HUNG_BYTES = 64 * 1024;

type Completed = Extract<MigrationResult, { status: 'completed' }>;
/** How a followed migration ended; a failure names the xl process that died of a signal, if one did. */
type Followed = Completed | (Extract<MigrationResult, { status: 'failed' | 'cancelled' }> & { death: string | undefined });

/** A migration whose transfer died and was started again. */
export interface XenRestart {
  error: string;
  /** how long the dead transfer had run, and what it had sent */
  afterMs: number;
  sentBytes: number;
}

/**
 * The line of a failed xl migration's log that shows a process that died (a signal: SIGSEGV, or SIGPIPE when
 * its peer died), as opposed to xl refusing or failing the migration itself.
 */
export function processDeath(log: string): string | undefined {
  return log.split('\n').map((l) => l.trim()).find((l) => /fatal signal|segmentation fault|SIGSEGV|Inconsistency detected by ld\.so|exited (1(29|3\d|4\d|5\d))\b/i.test(l));
}
/**
 * Shell: the children and grandchildren of the process in pid file $1 (dom0's busybox has no
 * pkill or pgrep), read from /proc/PID/stat's parent field.
 */
const DESCENDANTS =
  'descendants() { p=$(cat "$1" 2>/dev/null); [ -n "$p" ] || return 0; ' +
  'for c in $(awk -v pp="$p" \'$4==pp{print $1}\' /proc/[0-9]*/stat 2>/dev/null); do echo $c; awk -v pp="$c" \'$4==pp{print $1}\' /proc/[0-9]*/stat 2>/dev/null; done; }';
/**
 * How many segfaults dom0's kernel has logged since boot (`dmesg | grep -c segfault`), or null
 * when the output is not a count (the command itself crashed, or the host did not answer).
 */
export function parseSegfaultCount(stdout: string): number | null {
  const t = stdout.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** Segfaults logged between two readings of each host; null where either reading failed (or the log was cleared). */
export function segfaultsBetween(before: Record<string, number | null>, after: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.keys(before).map((h) => {
    const b = before[h];
    const a = after[h];
    return [h, b === null || b === undefined || a === null || a === undefined || a < b ? null : a - b];
  }));
}

/** "hosta 3, hostb 0" for an error, or '' when no host logged one */
export function segfaultSummary(counts: Record<string, number | null>): string {
  return Object.values(counts).some((n) => n !== null && n > 0) ? Object.entries(counts).map(([h, n]) => `${h} ${n ?? '?'}`).join(', ') : '';
}

/** dom0's uptime in centiseconds, e.g. 12345 for "123.45 …" */
const UPTIME_CS = "$(cut -d' ' -f1 /proc/uptime | tr -d .)";

/** One VM's files in dom0's run dir: its config and owner, and the background migration's records. */
const files = (runDir: string, vm: string) => {
  const f = (ext: string) => `${runDir}/${vm}.${ext}`;
  return { cfg: f('cfg'), createLog: f('create.log'), owner: f('owner'), log: f('migrate.log'), pid: f('migrate.pid'), rc: f('migrate.rc'), times: f('migrate.times'), fifo: f('save.fifo') };
};

/**
 * What the background migration wrote: exit code, and dom0's clock and byte counter around it.
 * The clock is dom0's uptime in centiseconds (/proc/uptime): busybox's date has no sub-second format.
 */
interface MigrationRecord {
  rc: number | undefined;
  alive: boolean;
  t0Cs: number | undefined;
  tx0: number | undefined;
  t1Cs: number | undefined;
  tx1: number | undefined;
  nowCs: number | undefined;
  txNow: number | undefined;
  /** an offline migration's save image, bytes */
  imageBytes: number | undefined;
}

/**
 * Reads the background migration's records. The exit code first: the migration's script writes it
 * last, after the end's clock and byte count, so an exit code read means the rest is there to read
 * (read the other way round, a migration that ended between the two reads looked like one that
 * completed without its end figures: a CI run failed a successful move so).
 */
export const recordCommand = (f: Pick<ReturnType<typeof files>, 'times' | 'rc' | 'pid'>, txBytesFile: string): string =>
  `echo "rc=$(cat ${quote(f.rc)} 2>/dev/null)"; cat ${quote(f.times)} 2>/dev/null; ` +
  `p=$(cat ${quote(f.pid)} 2>/dev/null); [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo alive=1; ` +
  `echo "now=${UPTIME_CS}"; echo "txnow=$(cat ${quote(txBytesFile)})"`;

export function parseMigrationRecord(text: string): MigrationRecord {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)=(\S*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, m[2]!);
  }
  const num = (k: string) => (/^\d+$/.test(kv.get(k) ?? '') ? Number(kv.get(k)) : undefined);
  return { rc: num('rc'), alive: kv.get('alive') === '1', t0Cs: num('t0'), tx0: num('tx0'), t1Cs: num('t1'), tx1: num('tx1'), nowCs: num('now'), txNow: num('txnow'), imageBytes: num('image') };
}

export class XenBackend implements HypervisorBackend {
  private readonly pollIntervalMs: number;
  private readonly migrationTimeoutMs: number;
  private readonly hungAfterMs: number;
  private readonly iface: string;

  constructor(private readonly deps: XenBackendDeps) {
    this.pollIntervalMs = deps.pollIntervalMs ?? 3000;
    this.migrationTimeoutMs = deps.migrationTimeoutMs ?? 30 * 60_000;
    this.hungAfterMs = deps.hungAfterMs ?? 120_000;
    this.iface = deps.migrationInterface ?? 'eth0';
  }

  private host(name: string): QemuHost {
    return hostNamed(this.deps.hosts, name);
  }

  /** the migration interface's byte counter in dom0: MD of a live migration */
  private get txBytesFile(): string {
    return `/sys/class/net/${this.iface}/statistics/tx_bytes`;
  }

  private sh(host: string, script: string, opts: { allowFailure?: boolean; stdin?: string } = {}) {
    return this.deps.pool.execShell(this.host(host).ssh, script, opts);
  }

  private async domains(host: string): Promise<XlDomain[]> {
    return parseXlList((await this.sh(host, 'xl list')).stdout);
  }

  async describeHost(host: string): Promise<HostProvenance> {
    const r = await readHost(this.deps.pool, this.host(host).ssh, ["xl info | sed -n 's/^xen_version *: //p'"]);
    // the kernel and CPU model are dom0's view; guests run as Xen PVH domains
    return { host, kernel: r.kernel, cpuModel: r.cpuModel, hypervisor: 'xen', hypervisorVersion: r.versions[0] ? `Xen ${r.versions[0]}` : null, accelerator: 'xen-pvh', guestCpu: 'xen-pvh' };
  }

  consoleFile(_host: string, vm: string): string {
    return `/var/log/xen/console/guest-${vm}.log`;
  }

  /** A domain is no process on dom0: its memory is what `xl list` says Xen gave it. */
  /** a Xen domain's memory is not a process's to read from dom0 */
  async nonZeroMiB(): Promise<number | null> {
    return null;
  }

  async allocatedMiB(host: string, vm: string): Promise<number | null> {
    return (await this.domains(host)).find((d) => d.name === vm)?.memMiB ?? null;
  }

  async vmState(host: string, vm: string): Promise<VmState> {
    return xenVmState(await this.domains(host), vm);
  }

  private async ownerOf(host: string, vm: string): Promise<string | undefined> {
    const r = await this.sh(host, `cat ${quote(files(this.host(host).runDir, vm).owner)}`, { allowFailure: true });
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  }

  /** Creates the domain on a host. An incoming VM needs nothing: `xl migrate-receive` creates it. */
  async startVm(host: string, spec: VmSpec, opts: { incoming?: boolean } = {}): Promise<void> {
    if (opts.incoming) return;
    const state = await stateBeforeStart(this, (h, vm) => this.ownerOf(h, vm), host, spec);
    if (state.kind === 'running') return;
    if (state.kind !== 'absent') throw new Error(`VM ${spec.name} on ${host} is ${state.kind}${state.kind === 'paused' ? ` (${state.reason})` : ''}, cannot start it`);
    const h = this.host(host);
    const f = files(h.runDir, spec.name);
    const cfg = domainConfig(spec, { bridge: h.bridge, vifScript: this.deps.vifScript, ...(this.deps.hideCpuid ? { hideCpuid: this.deps.hideCpuid } : {}) });
    await this.sh(host, `mkdir -p ${quote(h.runDir)} && cat > ${quote(f.cfg)} && echo ${quote(spec.owner ?? '')} > ${quote(f.owner)} && rm -f ${quote(this.consoleFile(host, spec.name))} && { xl create -q ${quote(f.cfg)} </dev/null >${quote(f.createLog)} 2>&1 || { grep -iE 'error|fail' ${quote(f.createLog)} | grep -v debug | tail -n 3 >&2; exit 1; }; }`, { stdin: cfg });
  }

  migrate(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch = {}): Promise<MigrationResult> {
    return this.run(src, dst, spec, params, watch, 'live');
  }

  migrateOffline(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch = {}): Promise<MigrationResult> {
    return this.run(src, dst, spec, params, watch, 'offline');
  }

  /** One SSH round trip: the migration's record and dom0's clock and byte counter now. */
  private async record(src: string, vm: string): Promise<MigrationRecord> {
    const r = await this.sh(src, recordCommand(files(this.host(src).runDir, vm), this.txBytesFile), { allowFailure: true });
    return parseMigrationRecord(r.stdout);
  }

  /**
   * Runs (or goes on following) one migration. On the nested bed, dom0 processes died now and then
   * (lazy FPU switching, see docs/backends.md); when xl's transfer died of a signal while the guest still runs on the
   * source and nothing runs in its place on the destination, the same migration starts again, at
   * most MAX_RESTARTS times. Each restart is recorded: in the result's `xen.restarts` when it
   * completes, in its error when it does not.
   */
  private async run(src: string, dst: string, spec: VmSpec, params: MigrationParams, watch: MigrationWatch, mode: 'live' | 'offline'): Promise<MigrationResult> {
    void params; // xl has no bandwidth cap or downtime limit to set
    const vm = spec.name;
    const restarts: XenRestart[] = [];
    // dom0's health, read around the move: a crashed dom0 process (xl, its save helper, a shell)
    // is what broke moves on the nested bed, so every result says how many each dom0 logged. A move
    // is not started on a sick dom0; one already under way or ended unread (a retried step) is
    // followed regardless. A restart comes after follow() cleared the dead transfer's exit code.
    let underWay = await this.underWay(src, vm);
    const before = underWay ? await this.segfaults([src, dst]) : await this.healthyDom0s([src, dst]);
    const crashes = async () => segfaultsBetween(before, await this.segfaults([src, dst]));
    for (;;) {
      watch.onPoll?.(`checking dom0s before moving ${vm}`);
      if (!underWay) {
        // A retry may have started the move meanwhile: this attempt leaves it to the retry.
        leaveIfSuperseded(watch, `starting the move of ${vm}`);
        await this.start(src, dst, spec, mode);
      }
      underWay = false;
      const result = await this.follow(src, spec, watch, mode);
      if (result.status === 'completed') {
        if (!result.final.xen) return result;
        const xen = { ...result.final.xen, ...(restarts.length ? { restarts } : {}), dom0Segfaults: await crashes() };
        return { ...result, final: { ...result.final, xen } };
      }
      const { death, ...failed } = result;
      // Whether or not it is started again, a guest a dead transfer left suspended is woken if xl can.
      const woken = failed.status !== 'cancelled' && death !== undefined ? await this.wakeIfLeftSuspended(src, dst, vm) : undefined;
      if (failed.status === 'cancelled' || death === undefined || restarts.length >= MAX_RESTARTS || !(await this.safeToRestart(src, dst, vm))) {
        const crashed = segfaultSummary(await crashes());
        const notes = [
          ...(restarts.length ? [`after ${restarts.length} restart${restarts.length > 1 ? 's' : ''} of a transfer that died: ${restarts.map((r) => r.error).join('; ')}`] : []),
          ...(woken ? [woken] : []),
          ...(crashed ? [`dom0 segfaults during the move: ${crashed}`] : []),
        ];
        return notes.length ? { ...failed, error: `${failed.error} (${notes.join('; ')})` } : failed;
      }
      restarts.push({ error: woken ? `${death} (${woken})` : death, afterMs: failed.last?.elapsedMs ?? 0, sentBytes: failed.last?.transferredBytes ?? 0 });
    }
  }

  async checkHealth(host: string): Promise<void> {
    await this.healthyDom0s([host]);
  }

  /**
   * Each host's dom0 judged in one round trip (dom0-health.ts): throws HostUnhealthy naming every
   * sick one; keeps a healthy one's new baseline. Returns each host's segfault count since boot.
   */
  private async healthyDom0s(hosts: readonly string[]): Promise<Record<string, number | null>> {
    const verdicts = await Promise.all(hosts.map(async (h) => {
      const runDir = this.host(h).runDir;
      const r = await this.sh(h, healthScript(runDir), { allowFailure: true });
      return { h, runDir, v: judgeDom0(h, parseDom0Reading(r.stdout), runDir) };
    }));
    const sick = verdicts.flatMap(({ v }) => (v.healthy ? [] : [v.reason]));
    if (sick.length) throw new HostUnhealthy(sick.join('; '));
    await Promise.all(verdicts.map(({ h, runDir, v }) => (v.healthy && v.accept !== undefined ? this.sh(h, `echo ${v.accept} > ${quote(`${runDir}/${ACCEPTED_FILE}`)}`) : undefined)));
    return Object.fromEntries(verdicts.map(({ h, v }) => [h, v.healthy ? v.segfaults : null]));
  }

  private async underWay(src: string, vm: string): Promise<boolean> {
    const rec = await this.record(src, vm);
    return rec.alive || rec.rc !== undefined;
  }

  private async segfaults(hosts: readonly string[]): Promise<Record<string, number | null>> {
    const read = async (h: string) => parseSegfaultCount((await this.sh(h, `${SEGFAULT_COUNT}; true`, { allowFailure: true }).catch(() => ({ stdout: '' }))).stdout);
    return Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, await read(h)] as const)));
  }

  /**
   * A save or migration whose xl died after suspending the guest leaves its domain shut down (for
   * suspend) on the source, with nobody to resume it: xl resumes a guest itself only when the
   * transfer fails under it. `xl resume` (newer xl; Xen 4.17's has none) wakes it as that failure
   * path would. Returns what happened, in words, or undefined when the guest was not left so.
   */
  private async wakeIfLeftSuspended(src: string, dst: string, vm: string): Promise<string | undefined> {
    const [s, d] = await Promise.all([this.domains(src), this.vmState(dst, vm)]);
    if (!s.find((x) => x.name === vm)?.flags.includes('s') || d.kind === 'running') return undefined;
    const r = await this.sh(src, `if xl help 2>&1 | grep -qE '^ +resume( |$)'; then xl resume ${quote(vm)} && echo woken; else echo no-resume; fi`, { allowFailure: true });
    if (/^woken$/m.test(r.stdout)) return `xl died after suspending ${vm}; woken on ${src} with xl resume`;
    if (/^no-resume$/m.test(r.stdout)) return `xl died after suspending ${vm}: its domain is left suspended on ${src}, and this xl has no resume command to wake it (Xen 4.17's has none), so the guest is lost`;
    return `xl died after suspending ${vm}, and xl resume failed on ${src}: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`;
  }

  /** The guest still runs on the source, and what the destination holds (a half-received domain) is cleared. */
  private async safeToRestart(src: string, dst: string, vm: string): Promise<boolean> {
    const [s, d] = await Promise.all([this.vmState(src, vm), this.vmState(dst, vm)]);
    if (s.kind !== 'running' || d.kind === 'running') return false;
    if (d.kind !== 'absent') await this.stopVm(dst, vm);
    return true;
  }

  /** Starts the migration in dom0's background (the caller has found none under way). */
  private async start(src: string, dst: string, spec: VmSpec, mode: 'live' | 'offline'): Promise<void> {
    const vm = spec.name;
    const h = this.host(src);
    const d = this.host(dst);
    const f = files(h.runDir, vm);
    const dstState = await this.vmState(dst, vm);
    if (dstState.kind !== 'absent') throw new Error(`VM ${vm} is ${dstState.kind} on ${dst}: refusing to migrate onto it`);
    const srcState = await this.vmState(src, vm);
    if (srcState.kind !== 'running') throw new Error(`VM ${vm} is ${srcState.kind} on ${src}, not running: nothing to migrate`);
    // The owner goes first, so the VM is never on a host that does not know whose it is.
    await this.sh(dst, `mkdir -p ${quote(d.runDir)} && echo ${quote(spec.owner ?? '')} > ${quote(files(d.runDir, vm).owner)}`);
    const ssh = this.deps.sshCommand ?? 'ssh';
    const image = `${this.deps.sharedDir}/${vm}.save`;
    // xl save writes guest pages straight from their mapping, which a 9p share refuses
    // (EFAULT): it writes into a pipe, and cat copies that to the share.
    const command =
      mode === 'live'
        ? `xl -v migrate -s ${quote(ssh)} ${quote(vm)} ${quote(d.ip)}`
        : `rm -f ${quote(image)} ${quote(f.fifo)}; mkfifo ${quote(f.fifo)}; cat ${quote(f.fifo)} > ${quote(image)} & ` +
          `xl -v save ${quote(vm)} ${quote(f.fifo)} && wait && echo "image=$(wc -c < ${quote(image)})" >> ${quote(f.times)} && ` +
          `${ssh} ${quote(d.ip)} ${quote(`xl -v restore ${image} && rm -f ${image}`)}`;
    const tx = this.txBytesFile;
    const script = [
      `echo "t0=${UPTIME_CS}" > ${quote(f.times)}; echo "tx0=$(cat ${tx})" >> ${quote(f.times)}`,
      `echo "== ${mode} ${vm} -> ${d.name}" >> ${quote(f.log)}`,
      `sh -c ${quote(command)} >> ${quote(f.log)} 2>&1 & echo $! > ${quote(f.pid)}; wait $!; rc=$?`,
      `echo "t1=${UPTIME_CS}" >> ${quote(f.times)}; echo "tx1=$(cat ${tx})" >> ${quote(f.times)}; echo $rc > ${quote(f.rc)}`,
    ].join('\n');
    // In the background, so the migration outlives this SSH session (and a worker that dies).
    await this.sh(src, `rm -f ${quote(f.rc)} ${quote(f.times)} ${quote(f.pid)}; setsid sh -c ${quote(script)} > /dev/null 2>&1 < /dev/null &`);
  }

  private async follow(src: string, spec: VmSpec, watch: MigrationWatch, mode: 'live' | 'offline'): Promise<Followed> {
    const vm = spec.name;
    const f = files(this.host(src).runDir, vm);
    const totalBytes = spec.memoryMiB * MiB;
    const started = Date.now();
    let polls = 0;
    let last: MigrationProgress | undefined;
    let abortReason: string | undefined;
    let hung: string | undefined;
    let vanished = 0;
    let progressAt = { sent: 0, at: started };
    for (;;) {
      const rec = await this.record(src, vm);
      // before this attempt decides anything: a retry follows the move now
      leaveIfSuperseded(watch, `following the move of ${vm}`);
      // Seen on the bed: a resumed step whose polls found the records incomplete went without a
      // heartbeat for 30 s at a time and used up its retries.
      watch.onPoll?.();
      // No process and no exit code for several polls: its shell died before writing one, or its
      // records were removed (the VM torn down). Either way nothing is left to follow.
      // (A poll whose own shell died says nothing: it has no clock reading.)
      if (rec.nowCs !== undefined) vanished = !rec.alive && rec.rc === undefined ? vanished + 1 : 0;
      if (vanished >= 3) {
        const error = `the migration of ${vm} on ${src} ended without an exit code (its shell died, or the VM was torn down)`;
        return { status: 'failed', error, polls, last, death: error };
      }
      if (rec.rc === undefined) {
        if (rec.t0Cs !== undefined && rec.nowCs !== undefined && rec.tx0 !== undefined && rec.txNow !== undefined) {
          polls++;
          const elapsedMs = (rec.nowCs - rec.t0Cs) * 10;
          const sent = Math.max(0, rec.txNow - rec.tx0);
          const mbps = elapsedMs > 0 ? (sent * 8) / 1e6 / (elapsedMs / 1000) : 0;
          // xl reports no passes and no remaining bytes: remaining is memory less what has gone, floored at 0.
          last = { status: 'active', elapsedMs, transferredBytes: sent, remainingBytes: Math.max(0, totalBytes - sent), totalBytes, iterations: 0, mbps, dirtyPagesRate: 0 };
          watch.onProgress?.(last);
          // Seen on the bed: a transfer that sends nothing for minutes and never ends (its stream
          // corrupted under a busy guest). Xen counts no passes, so the stall rule cannot see it.
          if (sent > progressAt.sent + HUNG_BYTES) progressAt = { sent, at: Date.now() };
          if (hung === undefined && abortReason === undefined && mode === 'live' && Date.now() - progressAt.at > this.hungAfterMs) {
            hung = `no data sent for ${Math.round((Date.now() - progressAt.at) / 1000)} s (${(sent / MiB).toFixed(1)} MiB in all): the transfer hung`;
          }
          if (abortReason === undefined && mode === 'live') {
            const giveUp = hung ?? stopReason(watch, last, { startedAt: started, timeoutMs: this.migrationTimeoutMs })?.reason;
            if (giveUp !== undefined) {
              abortReason = giveUp;
              // Cutting xl's transport (the ssh command that runs migrate-receive) fails the save;
              // xl then resumes the guest on the source. Killing xl itself would leave it suspended.
              await this.sh(src, `${DESCENDANTS}; for c in $(descendants ${quote(f.pid)}); do grep -q migrate-receive /proc/$c/cmdline 2>/dev/null && kill $c; done; true`, { allowFailure: true });
            }
          }
        }
        await sleep(this.pollIntervalMs);
        continue;
      }
      if (rec.rc === 0 && rec.t0Cs !== undefined && rec.t1Cs !== undefined && rec.tx0 !== undefined && rec.tx1 !== undefined) {
        const totalTimeMs = (rec.t1Cs - rec.t0Cs) * 10;
        // Offline, the state goes through the share, not the network: MD is the save image's size.
        const sent = mode === 'offline' ? (rec.imageBytes ?? 0) : Math.max(0, rec.tx1 - rec.tx0);
        const final: QueryMigrate = {
          status: 'completed',
          'total-time': totalTimeMs,
          ram: { transferred: sent, remaining: 0, total: totalBytes, 'dirty-sync-count': 0, mbps: totalTimeMs > 0 ? (sent * 8) / 1e6 / (totalTimeMs / 1000) : 0, 'dirty-pages-rate': 0 },
          xen: { mode, interface: this.iface, log: (await this.sh(src, `grep -E 'migration (sender|target)|Restore successful|Saving domain' ${quote(f.log)} | tail -n 6`, { allowFailure: true })).stdout.trim() },
        };
        return completedResult(final, polls, undefined) as Completed;
      }
      // This attempt is over: the next one starts afresh rather than reading its exit code.
      // This attempt's part of the log: after its header, the last one.
      const whole = (await this.sh(src, `cat ${quote(f.log)}; rm -f ${quote(f.rc)}`, { allowFailure: true })).stdout;
      // A hung transfer that was cut is a failure, not an abort rule's verdict.
      if (hung) return { status: 'failed', error: hung, polls, last, death: undefined };
      const log = whole.slice(whole.lastIndexOf('\n== ') + 1);
      // 139: xl or its shell died of SIGSEGV (seen on the bed before eager-fpu: dom0 processes crashed, see docs/backends.md)
      const lines = log.split('\n').filter((l) => l.trim());
      const said = lines.filter((l) => !/debug:|xencall:buffer|Frames:/.test(l));
      // xl said nothing but the header: its last debug lines are all there is to go on
      const tail = (said.length > 1 ? said.slice(-2) : lines.slice(-4)).join('; ');
      const error = migrateErrors(log) || `xl ${mode === 'live' ? 'migrate' : 'save/restore'} exited ${rec.rc}${tail ? `: ${tail}` : ''}`;
      return { status: abortReason ? 'cancelled' : 'failed', error: abortReason ?? error, polls, last, death: processDeath(`${log}\nxl exited ${rec.rc}`) };
    }
  }

  /** Xen offers no dirty-rate sampling. */
  async measureDirtyRate(): Promise<number | null> {
    return null;
  }

  async listVms(host: string): Promise<ListedVm[]> {
    const domains = await this.domains(host);
    const out = [];
    for (const name of vmNames(domains)) out.push({ name, state: xenVmState(domains, name), owner: await this.ownerOf(host, name) });
    return out;
  }

  async stopVm(host: string, vm: string, opts: { owner?: string } = {}): Promise<'stopped' | 'not-ours'> {
    if (opts.owner !== undefined) {
      const owner = await this.ownerOf(host, vm);
      if (owner !== undefined && owner !== opts.owner) return 'not-ours';
    }
    const f = files(this.host(host).runDir, vm);
    // A migration still running from here would recreate the domain elsewhere: end it first.
    await this.sh(
      host,
      [
        `${DESCENDANTS}; for c in $(descendants ${quote(f.pid)}) $(cat ${quote(f.pid)} 2>/dev/null); do kill $c 2>/dev/null; done`,
        `for d in ${quote(vm)} ${quote(`${vm}--incoming`)} ${quote(`${vm}--migratedaway`)}; do xl destroy "$d" >/dev/null 2>&1; done`,
        `rm -f ${quote(f.cfg)} ${quote(f.createLog)} ${quote(f.owner)} ${quote(f.rc)} ${quote(f.pid)} ${quote(f.times)} ${quote(f.fifo)} ${quote(f.log)}`,
        'true',
      ].join('; '),
    );
    const state = await this.vmState(host, vm);
    if (state.kind !== 'absent') throw new Error(`VM ${vm} on ${host} is still ${state.kind} after xl destroy`);
    return 'stopped';
  }
}
