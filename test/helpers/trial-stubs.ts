/** Stubbed trial activities for workflow tests on the real dev server: scripted answers, every call logged. */
import { planOf, type CampaignPlan, type Factors } from '../../workflows/campaign-plan.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryMigrate } from '../../activities/qemu/backend.js';
import type { ProbeSummary } from '../../activities/probe/ping-output.js';
import { waitCancellably } from '../../activities/cancellation.js';
import { heartbeat } from '../../activities/lab-activities.js';
import type { AppSummary, AttemptResult, ServiceLoad, TrialActivities, TrialInput, TrialRow } from '../../workflows/trial-types.js';

export const final = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'query-migrate-completed.json'), 'utf8')) as QueryMigrate;

export const input = (over: Partial<TrialInput> = {}): TrialInput => ({
  trialId: 'paper/dirty-ramp/64MiB/r1',
  src: 'hosta',
  dst: 'hostb',
  spec: { name: 'vm1', memoryMiB: 256, vcpus: 1, kernel: '/k', initrd: '/i', guestCidr: '198.18.0.100/24', mac: '52:54:00:12:00:64', migrationPort: 49152 },
  workload: { workingSetMiB: 64, rate: 'max', pattern: 'seq' },
  migration: { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 },
  ladder: [{ step: 'raise-downtime', downtimeLimitMs: 1000 }, { step: 'auto-converge', initialThrottle: 20, increment: 10 }],
  fallback: 'offline',
  probeIntervalMs: 10,
  bootTimeoutMs: 60_000,
  ...over,
});

/** What the stubbed probe reports when the script does not say (its downtime differs from `final`'s 88 ms). */
export const stubProbe = (intervalMs: number): ProbeSummary => ({ intervalMs, sent: 200, replies: 190, lost: 10, largestGapMs: 110, gapStartedAt: 1, downtimeMs: 100 });
/** The guest clock's offset from the controller's, before and after the move. */
export const stubClockOffsetsMs = [1000, 1085] as const;
/** The stubbed dirty-rate measurements (MiB/s): with the workload running, and before it starts. */
export const stubDirtyRate = 44.4;
export const stubIdleDirtyRate = 0.6;
/** the stubbed witness file's SHA-256 */
export const stubWitness = 'ab'.repeat(32);
/** a VM spec with a disk on shared storage */
export const diskSpec = (): TrialInput['spec'] => ({ ...input().spec, disk: { image: '/img/debian.qcow2', format: 'qcow2', storage: 'shared', root: true } });
/** a service trial's load: memcached, a 16 MiB key set */
export const serviceLoad = (): ServiceLoad => ({ service: 'memcached', keySetMiB: 16, valueBytes: 4096, requestsPerS: 1000, setFraction: 0.5, timeoutMs: 1000 });
/** what the stubbed load's clients saw */
export const stubApp = (service: ServiceLoad, version: string, marks: AppSummary['marks']): AppSummary => ({
  ...service, version, marks, connectionError: null,
  downtime: { requests: 9000, failed: 0, timedOut: 0, longestGapMs: 140, gapStartedAt: 1, latencyMs: { before: { n: 1, p50: 1, p99: 1, p999: 1 }, precopy: { n: 1, p50: 2, p99: 2, p999: 2 }, switchover: { n: 1, p50: 90, p99: 90, p999: 90 }, after: { n: 1, p50: 1, p99: 1, p999: 1 } }, dipRequests: 140, dipSeconds: 0.14, maxSendLagMs: 0, lateSends: 0 },
});
/** how fast the stubbed workload says it writes (MiB/s) */
export const stubWriteRate = 480;

export /** Stub activities: each live attempt answers from the script, every call is logged. */
function stubs(script: { live: AttemptResult[]; lostKeptVm?: number; offline?: AttemptResult; prepareError?: Error; liveDelayMs?: number; teardownDelayMs?: number; probeSawNothing?: boolean; diskDamaged?: boolean }) {
  const calls: string[] = [];
  const recorded: TrialRow[] = [];
  /** where each prepareVm asked for the VM, and for whom */
  const prepared: { host: string; owner: string | undefined; memoryMiB: number; vcpus: number }[] = [];
  let live = 0;
  let clock = 0;
  let keptOn: string | undefined;
  const acts: TrialActivities = {
    async prepareVm({ host, spec }) {
      calls.push('prepareVm');
      prepared.push({ host, owner: spec.owner, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus });
      if (script.prepareError) throw script.prepareError;
      // as the hosts would say: booted unless the last teardown kept the VM there (a lost one: script.lostKeptVm)
      const booted = host !== keptOn || script.lostKeptVm === prepared.length;
      keptOn = host;
      return { booted };
    },
    async waitForGuest() { calls.push('waitForGuest'); return 5400; },
    async startWorkload() { calls.push('startWorkload'); return { writeMiBps: stubWriteRate }; },
    // before the workload starts, the idle guest's rate
    async measureDirtyRate() { calls.push('measureDirtyRate'); return calls.includes('startWorkload') || calls.includes('startAppLoad') ? stubDirtyRate : stubIdleDirtyRate; },
    async startProbe() { calls.push('startProbe'); },
    async stopProbe({ intervalMs }) { calls.push('stopProbe'); return script.probeSawNothing ? null : stubProbe(intervalMs); },
    async liveMigrate({ plan }) {
      calls.push(`liveMigrate#${plan.index}:${plan.downtimeLimitMs}${plan.autoConverge ? '+ac' : ''}${plan.tuning?.xbzrleCacheMiB ? `+xb${plan.tuning.xbzrleCacheMiB}` : ''}`);
      // a migration that takes a while, heartbeating as the real one does, and hearing a cancel
      for (let waited = 0; waited < (script.liveDelayMs ?? 0); waited += 100) {
        heartbeat({ waited });
        try {
          await waitCancellably(100);
        } catch (err) {
          calls.push('liveMigrate-cancelled');
          throw err;
        }
      }
      return script.live[live++] ?? { status: 'failed', error: 'unscripted', polls: 0 };
    },
    async offlineMigrate() { calls.push('offlineMigrate'); return script.offline ?? { status: 'failed', error: 'unscripted', polls: 0 }; },
    async memoryCategories({ requestedMiB, inGuest }) { calls.push(inGuest === false ? 'memoryCategories(host only)' : 'memoryCategories'); const look = inGuest !== false; return { configuredMiB: 256, allocatedOnHostMiB: 200, usedInGuestMiB: look ? 30 + requestedMiB : null, notFreeInGuestMiB: look ? 40 + requestedMiB : null, nonZeroOnHostMiB: 90 + requestedMiB, requestedMiB, dirtiedMiB: requestedMiB }; },
    async guestClock() { calls.push('guestClock'); clock += 1; return { offsetMs: stubClockOffsetsMs[clock === 1 ? 0 : 1], rttMs: 2 }; },
    async workloadIntegrity() { calls.push('workloadIntegrity'); return { staleWrites: 0, writesAfterMove: 5000, fullPass: true }; },
    async writeDiskWitness() { calls.push('writeDiskWitness'); return stubWitness; },
    // the script can make the disk arrive damaged
    async checkDiskWitness({ sha256 }) { calls.push('checkDiskWitness'); const after = script.diskDamaged ? 'f'.repeat(64) : sha256; return { sha256Before: sha256, sha256After: after, intact: after === sha256 }; },
    async startService() { calls.push('startService'); return { version: 'memcached 1.6.18', port: 11211, keys: 4096, loadMs: 900 }; },
    async startAppLoad() { calls.push('startAppLoad'); },
    async stopAppLoad({ service, version, marks }) { calls.push('stopAppLoad'); return stubApp(service, version, marks); },
    async recordTrial({ row }) { calls.push('recordTrial'); recorded.push(row); return 'recorded'; },
    async teardown({ hosts, keepOn }) {
      calls.push(`teardown:${hosts.join(',')}${keepOn ? ` keep ${keepOn}` : ''}`);
      keptOn = keepOn;
      if (script.teardownDelayMs) await new Promise((r) => setTimeout(r, script.teardownDelayMs));
      calls.push('teardown-done');
    },
  };
  // a campaign's worker also answers which trials are recorded: these stubs' rows
  const campaignActs = {
    ...acts,
    recordedTrials: async () => recorded.map((r) => ({ id: r.trialId, outcome: r.outcome.kind })),
    recordedAmong: async ({ ids }: { ids: string[] }) => recorded.filter((r) => ids.includes(r.trialId)).map((r) => ({ id: r.trialId, outcome: r.outcome.kind })),
    recordedCounts: async () => {
      const counts = { converged: 0, offline: 0, failed: 0 };
      for (const r of recorded) counts[r.outcome.kind]++;
      return counts;
    },
  };
  return { acts, campaignActs, calls, recorded, prepared };
}

/** A campaign's plan: `n` 8 MiB trials `<name>/ramp/8MiB/r1…rn` (with factors, each repetition runs every combination). */
export const rampPlan = (name: string, n: number, factors?: Factors): CampaignPlan =>
  planOf({ campaign: name, scenarios: [{ name: 'ramp', kind: 'dirty-ramp', workingSetsMiB: [8], rate: 'max', pattern: 'seq' }], repetitions: n, ...(factors ? { factors } : {}) });

/** A campaign's trial list as miglab 0.6 and before sent it: `n` 8 MiB trials `<name>/ramp/8MiB/r1…rn`. */
export const rampTrials = (name: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `${name}/ramp/8MiB/r${i + 1}`, scenario: 'ramp', workingSetMiB: 8, rate: 'max' as const, pattern: 'seq' as const }));

export const stall: AttemptResult = { status: 'aborted', rule: 'stall', reason: 'no new low of remaining bytes for 10 iterations', polls: 80 };
export const done: AttemptResult = { status: 'completed', final, polls: 12 };
/** A completed attempt whose figures differ from `done`'s in every field the metrics read. */
export const doneOther: AttemptResult = { status: 'completed', final: { ...final, 'total-time': 2345, downtime: 61, 'setup-time': 7, ram: { ...final.ram!, transferred: 123_456_789, 'dirty-sync-count': 9 } }, polls: 30 };

