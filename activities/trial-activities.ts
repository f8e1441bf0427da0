/**
 * The trial workflow's activities on real hosts: QEMU over SSH and QMP, the guest's workload over
 * SSH, the ping probe on the controller. Raw series go to the results store; what returns to the
 * workflow is small.
 */
import { sleep } from '../lib/sleep.js';
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Site } from '../lab/site.js';
import { guestAddress, guestSsh } from '../lab/guest.js';
import { localPidFromSharedFile, processAlive, sharedPidLine } from '../lib/process.js';
import { spawnDetached } from '../lib/exec.js';
import type { ResultsStore } from '../results/store.js';
import type { AttemptCost, AttemptResult, TrialActivities } from '../workflows/trial-types.js';
import { HostUnhealthy, type HypervisorBackend, type MigrationProgress, type MigrationResult, type MigrationWatch } from './backend.js';
import { createLabActivities, heartbeat } from './lab-activities.js';
import { readFailures, withFailureLog, withFirstCause } from './failure-log.js';
import { cancelledStep, cancelRequested, supersededAttempt, waitCancellably } from './cancellation.js';
import type { HostProvenance } from './host-provenance.js';
import type { TrialProvenance } from '../results/provenance.js';
import { miglabVersion } from '../lib/version.js';
import { AbortWatch, type AbortVerdict } from './migration/abort-rules.js';
import { answeringNow, coarseReading, parsePingLine, summarizePing, type PingEvent } from './probe/ping-output.js';
import { lastBeat, parseReady, writeRateMiBps } from './workload/dirtier-output.js';
import type { QueryMigrate } from './qemu/backend.js';
import type { VmSpec } from './qemu/vm-spec.js';
import type { SshPool } from './ssh/pool.js';
import { commandLine } from './ssh/shell-quote.js';
import { createServiceActivities } from './service-activities.js';
import { stopAppLoad } from './workload/app-load.js';

export interface TrialActivityDeps {
  pool: SshPool;
  backend: HypervisorBackend;
  /** where the VMs run: a bed, or a campaign's own hosts */
  inventory: Site;
  store: ResultsStore;
  /** the campaign file's digest for each row's provenance (absent: rows carry none) */
  campaignFileSha256?: string;
  /** this worker's identity (`<controller>:<pid>`): which controller recorded each row */
  identity?: string;
}

/** A host found unfit fails its trial at once, with the host's reason: no retry mends a sick host. */
async function refusingUnhealthyHosts<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof HostUnhealthy) throw ApplicationFailure.nonRetryable(err.message, 'HostUnhealthy');
    throw err;
  }
}

function toAttempt(r: MigrationResult, verdict: AbortVerdict, observedTotalMs: number | undefined): AttemptResult {
  if (r.status === 'completed') {
    return { status: 'completed', final: r.final as QueryMigrate, polls: r.polls, ...(observedTotalMs !== undefined ? { observedTotalMs } : {}), ...(r.postcopy ? { postcopy: r.postcopy } : {}) };
  }
  // A rule that fired before a switch to post-copy switched it rather than aborting it.
  if (r.postcopy) return { status: 'failed', error: `after switching to post-copy (${r.postcopy.reason}): ${r.error}`, polls: r.polls };
  if (verdict.abort) return { status: 'aborted', rule: verdict.rule, reason: verdict.reason, polls: r.polls };
  return { status: 'failed', error: r.error, polls: r.polls };
}

export function createTrialActivities(deps: TrialActivityDeps): TrialActivities {
  return withFailureLog(trialActivities(deps), deps.store, deps.backend);
}

function trialActivities(deps: TrialActivityDeps): TrialActivities {
  const { pool, backend, inventory, store } = deps;
  const lab = createLabActivities({ pool, backend, inventory });
  // each host described once per worker: its kernel, CPU, hypervisor version and accelerator
  const described = new Map<string, Promise<HostProvenance | null>>();
  const describe = (host: string) => {
    if (!described.has(host)) described.set(host, backend.describeHost(host).catch(() => null));
    return described.get(host)!;
  };
  const provenanceOf = async (row: { src: string; dst: string }): Promise<TrialProvenance> => ({
    miglab: miglabVersion(),
    campaignFileSha256: deps.campaignFileSha256!,
    src: await describe(row.src),
    dst: await describe(row.dst),
    recordedAt: new Date().toISOString(),
    ...(deps.identity ? { recordedBy: deps.identity } : {}),
  });
  const probeFiles = (trialId: string) => {
    const dir = join(store.trialRawDir(trialId), 'probe');
    return { dir, out: join(dir, 'ping.txt'), pid: join(dir, 'ping.pid') };
  };

  /** Runs one migration (live or offline), keeping every poll as a raw series of the attempt. */
  async function migrateWith(
    trialId: string,
    attempt: number,
    run: (watch: Required<MigrationWatch>) => Promise<MigrationResult>,
    watchRules: AbortWatch | undefined,
    honourCancel: boolean,
  ): Promise<AttemptResult> {
    const polls: string[] = [];
    const startedAt = Date.now(); // the migrate command goes out now
    let remainingLow: number | null = null;
    // QEMU clears its RAM statistics once a migration is cancelled: keep the most any poll saw
    let sentMost = 0;
    let passesMost = 0;
    let verdict: AbortVerdict = { abort: false };
    let firstAt: number | undefined;
    let lastAt: number | undefined;
    let latest: MigrationProgress | undefined;
    const result = await run({
      onProgress: (p) => {
        const t = Date.now();
        firstAt ??= t - p.elapsedMs;
        lastAt = t;
        if (p.totalBytes > 0 && (remainingLow === null || p.remainingBytes < remainingLow)) remainingLow = p.remainingBytes;
        sentMost = Math.max(sentMost, p.transferredBytes);
        passesMost = Math.max(passesMost, p.iterations);
        polls.push(JSON.stringify({ t, ...p }));
        latest = p;
        heartbeat(p);
      },
      // A poll with no progress to give still shows the step alive (its last progress stays shown).
      onPoll: (doing) => heartbeat(latest ?? { waitingFor: doing ?? 'the migration to report progress' }),
      // Told at a heartbeat that a retry has the step now (this attempt went quiet too long).
      superseded: supersededAttempt,
      abortIf: (p) => {
        if (!watchRules || verdict.abort) return undefined;
        verdict = watchRules.observe(p);
        return verdict.abort ? verdict.reason : undefined;
      },
      cancelled: () => honourCancel && cancelRequested(),
    });
    await store.writeRaw(trialId, attempt, 'query-migrate.jsonl', polls.join('\n') + '\n');
    const cost: AttemptCost = {
      startedAt,
      endedAt: Date.now(),
      ...(firstAt !== undefined ? { migrationStartedAt: firstAt } : {}),
      ...(result.status === 'completed' && lastAt !== undefined ? { completedAt: lastAt } : {}),
      transferredBytes: result.status === 'completed' ? result.transferredBytes : Math.max(sentMost, result.last?.transferredBytes ?? 0),
      passes: result.status === 'completed' ? result.iterations : Math.max(passesMost, result.last?.iterations ?? 0),
      remainingLowBytes: result.status === 'completed' ? 0 : remainingLow,
    };
    return { ...toAttempt(result, verdict, firstAt !== undefined && lastAt !== undefined ? lastAt - firstAt : undefined), cost };
  }

  /** A move the hypervisor calls completed must have left the VM running on its destination: never record a move that did not happen. */
  const mustRunOn = async (dst: string, spec: VmSpec) => {
    // the destination resumes the guest a moment after the source counts the move completed
    let state = await backend.vmState(dst, spec.name);
    for (let waited = 0; state.kind !== 'running' && state.kind !== 'absent' && waited < 10_000; waited += 200) {
      heartbeat({ waitingFor: `${spec.name} to run on ${dst}` });
      await sleep(200);
      state = await backend.vmState(dst, spec.name);
    }
    if (state.kind !== 'running') throw ApplicationFailure.nonRetryable(`the hypervisor reported the migration of ${spec.name} completed, but the VM is ${state.kind} on ${dst}, not running: the move is not taken as done`, 'VmState');
  };
  return {
    ...createServiceActivities({ pool, inventory, store }),

    async prepareVm({ host, spec }) {
      await refusingUnhealthyHosts(async () => backend.checkHealth?.(host));
      // booted unless a VM of this owner already ran there (a reused VM the lane's last trial left)
      const before = (await backend.listVms(host).catch(() => [])).find((v) => v.name === spec.name);
      await lab.startVm({ host, spec });
      const booted = !(before && before.state.kind === 'running' && before.owner === spec.owner);
      // A new guest at the address: a connection kept for the one before would lead nowhere.
      if (booted) pool.drop(guestSsh(inventory, spec));
      return { booted };
    },

    waitForGuest: lab.waitForGuest,

    async startWorkload({ spec, workload }) {
      const guest = guestSsh(inventory, spec);
      const argv = ['dirtier', '-m', workload.workingSetMiB, '-r', workload.rate, '-p', workload.pattern, '-i', 10];
      // A retried step replaces a workload left by the attempt before: one dirtier per guest
      // (killall: the guest's busybox has no pkill).
      await pool.execShell(guest, `killall -q dirtier; setsid ${commandLine(argv)} > /tmp/dirtier.log 2>&1 < /dev/null &`);
      // Ready once it has touched its whole working set: well under a second on the QEMU bed,
      // over 30 s for 16 MiB in a domU of the nested Xen hosts (each first touch is a nested exit).
      // The model needs the rate it writes pages at, not only the distinct pages QEMU sees
      // dirtied: read from its heartbeats, by its own clock, over a third of a second.
      const measureWriteRate = async (): Promise<number | null> => {
        for (let waited = 0; waited < 5_000; waited += 200) {
          await waitCancellably(200);
          const log = (await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout;
          const ready = parseReady(log);
          const rate = ready ? writeRateMiBps(log, ready.pageSize) : undefined;
          if (rate !== undefined) return Math.round(rate * 10) / 10;
        }
        return null;
      };
      const limitMs = 100_000 + 4_000 * workload.workingSetMiB;
      const deadline = Date.now() + limitMs;
      while (Date.now() < deadline) {
        const out = (await pool.execShell(guest, 'cat /tmp/dirtier.log; pidof dirtier > /dev/null && echo "== running"', { allowFailure: true })).stdout;
        if (out.includes('ready ')) return { writeMiBps: await measureWriteRate() };
        if (!out.includes('== running')) {
          // It died before it was ready (seen: a working set larger than what the guest has free).
          const free = (await pool.execShell(guest, 'free -m | sed -n 2p', { allowFailure: true })).stdout.trim();
          throw ApplicationFailure.nonRetryable(`dirtier -m ${workload.workingSetMiB} exited in ${spec.name} before it was ready: ${out.trim().split('\n').slice(-2).join('; ') || 'no output'} (guest memory, MiB total/used/free/shared/cache/available: ${free.replace(/^Mem:\s*/, '').replace(/\s+/g, '/')})`, 'WorkloadDied');
        }
        heartbeat({ waitingFor: 'dirtier ready' });
        await waitCancellably(100);
      }
      throw ApplicationFailure.retryable(`dirtier did not report ready in ${spec.name} within ${limitMs / 1000} s`, 'WorkloadNotReady');
    },

    async measureDirtyRate({ host, vm }) {
      return backend.measureDirtyRate(host, vm);
    },

    async startProbe({ trialId, spec, intervalMs }) {
      const f = probeFiles(trialId);
      const pid = localPidFromSharedFile(f.pid);
      if (pid !== undefined && processAlive(pid)) return; // already probing (a retried step)
      await mkdir(f.dir, { recursive: true });
      const fd = openSync(f.out, 'a');
      try {
        // On a bed, bound to its interface: the probe can reach nothing outside the bed.
        // ping's output is parsed: the C locale, whatever the user's
        const child = await spawnDetached('ping', ['-D', '-O', '-n', '-i', String(intervalMs / 1000), '-W', '1', ...(inventory.probeVia ? ['-I', inventory.probeVia] : []), guestAddress(spec)], fd, { ...process.env, LC_ALL: 'C' });
        await writeFile(f.pid, sharedPidLine(child));
      } finally {
        closeSync(fd);
      }
    },

    async stopProbe({ trialId, intervalMs, awaitReplyMs = 0 }) {
      const f = probeFiles(trialId);
      const pid = localPidFromSharedFile(f.pid);
      const events = (text: string) => text.split('\n').map(parsePingLine).filter((e): e is PingEvent => e !== undefined);
      if (pid !== undefined && processAlive(pid)) {
        // A guest can come back seconds after its hypervisor says the move is done (a Xen restore
        // unpauses it before its network answers): stopping then would cut the outage short.
        // Whether it answers is the probe's last line: only the file's end is parsed each time.
        const answering = () => existsSync(f.out) && answeringNow(events(readFileSync(f.out, 'utf8').slice(-1024)));
        for (let waited = 0; waited < awaitReplyMs && !answering(); waited += 200) {
          heartbeat({ waitingFor: 'the guest to answer the probe again', waitedMs: waited });
          await waitCancellably(200);
        }
        if (processAlive(pid)) process.kill(pid, 'SIGINT');
        for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(50);
      }
      if (!existsSync(f.out)) return null;
      const all = events(readFileSync(f.out, 'utf8'));
      const coarse = coarseReading(all, intervalMs);
      return { ...summarizePing(all, intervalMs), ...(coarse ? { coarse } : {}) };
    },

    async liveMigrate({ trialId, src, dst, spec, plan, rules }) {
      const watch = new AbortWatch({ ...rules, guestMemoryMiB: spec.memoryMiB });
      // Post-copy after one full precopy pass, as libvirt's --postcopy-after-precopy and Nova do (or a post-copy level's passes).
      const params = { maxBandwidth: plan.maxBandwidth, downtimeLimitMs: plan.downtimeLimitMs, autoConverge: plan.autoConverge, postcopy: plan.postcopy ? { afterPasses: plan.postcopyAfterPasses ?? 1 } : null, ...(plan.tuning ? { tuning: plan.tuning } : {}) };
      const result = await refusingUnhealthyHosts(() => migrateWith(trialId, plan.index, (w) => backend.migrate(src, dst, spec, params, w), watch, true));
      heartbeat({ doing: `checking where ${spec.name} runs after the migration` });
      if (result.status === 'completed') await mustRunOn(dst, spec);
      if (result.status !== 'completed') {
        // An abandoned attempt leaves the VM on the source; make sure, and clear the destination.
        const state = await backend.vmState(src, spec.name);
        heartbeat({ doing: `clearing ${dst} of ${spec.name}` });
        if (state.kind !== 'running') throw ApplicationFailure.nonRetryable(`after cancelling, ${spec.name} is ${state.kind} on ${src}, not running`, 'VmState');
        await backend.stopVm(dst, spec.name);
        // cancelled with its trial: the migration is, the VM runs on the source alone; say so
        if (cancelRequested()) throw cancelledStep(`migration of ${spec.name} ${src}→${dst} cancelled, the VM runs on ${src}`);
      }
      return result;
    },

    async offlineMigrate({ trialId, attempt, src, dst, spec, maxBandwidth }) {
      const params = { maxBandwidth, downtimeLimitMs: 300, autoConverge: null };
      // An offline move is not cancelled midway (its VM would be left paused): it ends, then the trial tears down.
      const result = await refusingUnhealthyHosts(() => migrateWith(trialId, attempt, (w) => backend.migrateOffline(src, dst, spec, params, w), undefined, false));
      heartbeat({ doing: `checking where ${spec.name} runs after the migration` });
      if (result.status === 'completed') await mustRunOn(dst, spec);
      if (result.status === 'completed') await backend.stopVm(src, spec.name); // the paused source copy
      return result;
    },

    async memoryCategories({ host, spec, requestedMiB, dirtyRateMiBps, inGuest = true }) {
      const onHost = inventory.hosts.some((x) => x.name === host);
      const allocatedOnHostMiB = onHost ? await backend.allocatedMiB(host, spec.name) : null;
      const nonZeroOnHostMiB = onHost ? await backend.nonZeroMiB(host, spec.name, spec.memoryMiB) : null;
      const info = inGuest ? (await pool.exec(guestSsh(inventory, spec), ['cat', '/proc/meminfo'], { allowFailure: true })).stdout : '';
      const kbOf = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(info)?.[1] ?? NaN);
      const used = kbOf('MemTotal') - kbOf('MemAvailable');
      const notFree = kbOf('MemTotal') - kbOf('MemFree');
      const mib = (kb: number) => (Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null);
      return {
        configuredMiB: spec.memoryMiB,
        allocatedOnHostMiB,
        usedInGuestMiB: mib(used),
        notFreeInGuestMiB: mib(notFree),
        nonZeroOnHostMiB,
        requestedMiB,
        dirtiedMiB: dirtyRateMiBps === null ? null : Math.min(dirtyRateMiBps, requestedMiB || dirtyRateMiBps),
      };
    },

    async guestClock({ spec }) {
      // Best of three readings: the one with the shortest round trip pins the guest clock closest.
      let best: { offsetMs: number; rttMs: number } | undefined;
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const r = await pool.exec(guestSsh(inventory, spec), ['dirtier', '-c']);
        const t1 = Date.now();
        const ns = /real_ns=(\d+)/.exec(r.stdout)?.[1];
        if (!ns) throw ApplicationFailure.nonRetryable(`dirtier -c in ${spec.name} printed no clock: ${r.stdout.slice(0, 200)}`, 'GuestClock');
        const guestMs = Number(BigInt(ns) / 1000n) / 1000;
        const reading = { offsetMs: (t0 + t1) / 2 - guestMs, rttMs: t1 - t0 };
        if (!best || reading.rttMs < best.rttMs) best = reading;
      }
      return best!;
    },

    async workloadIntegrity({ spec }) {
      const guest = guestSsh(inventory, spec);
      const read = async () => (await pool.exec(guest, ['cat', '/tmp/dirtier.log'])).stdout;
      const first = await read();
      const ready = parseReady(first);
      const start = lastBeat(first);
      if (!ready || !start || start.stale === null) return null; // no workload, or one too old to count
      // Wait for a working set's worth of writes, so a lost page is written (and noticed) again.
      const pass = Math.ceil((ready.mib * 2 ** 20) / ready.pageSize);
      let beat = start;
      for (let waited = 0; beat.pages - start.pages < pass && waited < 60_000; waited += 250) {
        heartbeat({ waitingFor: 'a full pass of the workload', written: beat.pages - start.pages, of: pass });
        await sleep(250);
        beat = lastBeat(await read()) ?? beat;
      }
      return { staleWrites: beat.stale ?? 0, writesAfterMove: beat.pages - start.pages, fullPass: beat.pages - start.pages >= pass };
    },

    async writeDiskWitness({ spec }) {
      // 16 MiB: larger than the caches between the guest and the disk would hide for long, and
      // quick to write under TCG; synced, so it is on the disk before the move starts.
      const r = await pool.execShell(guestSsh(inventory, spec), `head -c 16M /dev/urandom > ${DISK_WITNESS} && sync && sha256sum ${DISK_WITNESS}`);
      return parseSha256(r.stdout);
    },

    async checkDiskWitness({ spec, sha256 }) {
      // The page cache dropped first: the file is read from the disk the VM now runs on.
      const r = await pool.execShell(guestSsh(inventory, spec), `sync && echo 3 > /proc/sys/vm/drop_caches && sha256sum ${DISK_WITNESS}`);
      const after = parseSha256(r.stdout);
      return { sha256Before: sha256, sha256After: after, intact: after === sha256 };
    },

    async recordTrial({ trialId, row }) {
      // A failed trial's reason is the last retry's error: the store's row leads with the first cause.
      const full = withFirstCause(row, await readFailures(store, trialId));
      return store.recordTrial(trialId, deps.campaignFileSha256 ? { ...full, provenance: await provenanceOf(row) } : full);
    },

    async teardown({ trialId, hosts, spec, keepOn }) {
      const f = probeFiles(trialId);
      const pid = localPidFromSharedFile(f.pid);
      if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGKILL');
      // a load the trial did not stop (it failed or was cancelled mid-move) ends with it
      await stopAppLoad(trialId);
      if (keepOn) {
        // The VM stays for the lane's next trial: what ran in it for this one stops (the next
        // trial starts its own, or none). Only if it still answers as ours: else it is stopped.
        const state = await backend.vmState(keepOn, spec.name);
        const kept = state.kind === 'running' && (await pool.execShell(guestSsh(inventory, spec), GUEST_QUIET_COMMAND, { allowFailure: true }).catch(() => undefined))?.code === 0;
        if (!kept) keepOn = undefined;
      }
      // Keep each host's serial console of the guest: a guest that died on arrival says why there.
      // The hosts are independent: both at once.
      await Promise.all(hosts.map(async (host) => {
        const h = inventory.hosts.find((x) => x.name === host);
        if (h) {
          const r = await pool.exec(h.ssh, ['cat', backend.consoleFile(host, spec.name)], { allowFailure: true });
          if (r.code === 0) await store.writeRaw(trialId, 'trial', `console-${host}.log`, r.stdout);
        }
        if (host !== keepOn) await backend.stopVm(host, spec.name, { owner: spec.owner });
      }));
      // The next trial's guest takes the same address: never reuse this one's SSH connection,
      // unless it is the same guest, kept for the lane (its next trial logs in without a handshake).
      if (!keepOn) pool.drop(guestSsh(inventory, spec));
    },
  };
}

/**
 * Stops what a trial ran in a guest that stays for the next one: the dirtier and the services
 * (busybox's killall and Debian's both take several names; none running is no error).
 */
const GUEST_QUIET_COMMAND = 'killall -q dirtier memcached redis-server; sleep 0.2; true';

/** The file on a disk VM that must survive the move (in root's home: on the root filesystem, not a tmpfs). */
const DISK_WITNESS = '/root/miglab-witness';

function parseSha256(out: string): string {
  const sum = /^([0-9a-f]{64})\s/.exec(out)?.[1];
  if (!sum) throw new Error(`sha256sum printed no digest: ${JSON.stringify(out.slice(0, 200))}`);
  return sum;
}
