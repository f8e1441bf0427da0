/**
 * A trial's service (issue 17): memcached or redis-server started in the guest, its key set loaded
 * from the controller, and the open-loop load that runs across the move, kept whole in the results
 * store and reduced to what the service's clients saw.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Site } from '../lab/site.js';
import { guestAddress, guestSsh } from '../lab/guest.js';
import type { ResultsStore } from '../results/store.js';
import type { TrialActivities } from '../workflows/trial-types.js';
import type { ServiceLoad } from '../workflows/trial-types.js';
import { appDowntime, type AppRequest } from '../analysis/app-latency.js';
import { loadKeySet } from './workload/open-loop-client.js';
import { startAppLoad, stopAppLoad } from './workload/app-load.js';
import { heartbeat } from './lab-activities.js';
import { cancelRequested } from './cancellation.js';
import type { SshPool } from './ssh/pool.js';
import { commandLine } from './ssh/shell-quote.js';

type ServiceActivities = Pick<TrialActivities, 'startService' | 'startAppLoad' | 'stopAppLoad'>;

const MiB = 2 ** 20;
export const SERVICE_PORT = { memcached: 11211, redis: 6379 } as const;
/** a load runs until the trial stops it; this bounds a load whose trial never does (a lost workflow) */
const MAX_LOAD_MS = 30 * 60_000;
/** after the move, how long the load may wait for its service to answer again (a retransmitting TCP connection backs off) */
const AWAIT_ANSWER_MS = 60_000;

/** How many keys make a key set of this size. */
export const keysFor = (s: Pick<ServiceLoad, 'keySetMiB' | 'valueBytes'>) => Math.max(1, Math.floor((s.keySetMiB * MiB) / s.valueBytes));

/**
 * The daemon's command line in the guest. memcached's memory limit leaves room for its per-item
 * overhead and slab rounding (at most a quarter with its default growth factor) above the values;
 * redis keeps no snapshot or log, so the disk is not written while the VM moves.
 */
export function serviceCommand(s: Pick<ServiceLoad, 'service' | 'keySetMiB'>): (string | number)[] {
  if (s.service === 'memcached') return ['memcached', '-d', '-u', 'memcache', '-l', '0.0.0.0', '-p', SERVICE_PORT.memcached, '-m', Math.ceil(s.keySetMiB * 1.5) + 16, '-c', 1024];
  return ['redis-server', '--port', SERVICE_PORT.redis, '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--logfile', '/tmp/redis-server.log'];
}

/** "memcached 1.6.18" from `memcached -V`; "redis 7.0.15" from `redis-server --version`. */
export function parseServiceVersion(service: ServiceLoad['service'], out: string): string {
  const v = service === 'memcached' ? /^memcached (\S+)/m.exec(out)?.[1] : /\bv=(\S+)/.exec(out)?.[1];
  return v ? `${service} ${v}` : `${service} (version unknown: ${out.trim().slice(0, 60)})`;
}

/** The series as CSV, times in ms from the first request's due time (t0 in the header line). */
export function requestsCsv(requests: readonly AppRequest[]): string {
  const t0 = requests[0]?.dueAt ?? 0;
  const ms = (t: number) => (t - t0).toFixed(3);
  return [`# t0=${t0}`, 'op,dueMs,sentMs,doneMs,ok', ...requests.map((r) => `${r.op ?? 'get'},${ms(r.dueAt)},${ms(r.sentAt)},${r.doneAt === null ? '' : ms(r.doneAt)},${r.ok ? 1 : 0}`)].join('\n') + '\n';
}

export function createServiceActivities(deps: { pool: SshPool; inventory: Site; store: ResultsStore }): ServiceActivities {
  const { pool, inventory, store } = deps;
  return {
    async startService({ spec, service }) {
      const guest = guestSsh(inventory, spec);
      const port = SERVICE_PORT[service.service];
      const daemon = service.service === 'memcached' ? 'memcached' : 'redis-server';
      // A retried step starts from an empty service: the key set is loaded whole again.
      const r = await pool.execShell(guest, [
        `pkill -x ${daemon}; for i in $(seq 50); do pidof ${daemon} > /dev/null || break; sleep 0.1; done`,
        commandLine(serviceCommand(service)),
        `for i in $(seq 100); do ss -Hltn 'sport = :${port}' | grep -q . && break; sleep 0.1; done`,
        `ss -Hltn 'sport = :${port}' | grep -q . || { echo "${daemon} is not listening on ${port}"; tail -5 /tmp/redis-server.log 2>/dev/null; exit 1; }`,
        service.service === 'memcached' ? 'memcached -V' : 'redis-server --version',
      ].join('\n'), { allowFailure: true });
      if (r.code !== 0) throw ApplicationFailure.nonRetryable(`${daemon} did not start in ${spec.name}: ${(r.stdout + r.stderr).trim().slice(-400)}`, 'ServiceStart');
      const keys = keysFor(service);
      const { loadMs } = await loadKeySet({
        host: guestAddress(spec), port, protocol: service.service, keys, valueBytes: service.valueBytes,
        ...(inventory.clientAddress ? { localAddress: inventory.clientAddress } : {}),
        onProgress: (acked) => {
          heartbeat({ loading: `${acked} of ${keys} keys` });
          if (cancelRequested()) throw new Error('cancelled');
        },
      });
      return { version: parseServiceVersion(service.service, r.stdout), port, keys, loadMs };
    },

    async startAppLoad({ trialId, spec, service, port }) {
      startAppLoad(trialId, {
        host: guestAddress(spec), port, protocol: service.service, ratePerS: service.requestsPerS, keys: keysFor(service),
        setFraction: service.setFraction, valueBytes: service.valueBytes, timeoutMs: service.timeoutMs, maxDurationMs: MAX_LOAD_MS,
        ...(inventory.clientAddress ? { localAddress: inventory.clientAddress } : {}),
      });
    },

    async stopAppLoad({ trialId, service, version, marks }) {
      // after a move, the clients' outage ends when they are answered again, not when the guest is
      const result = await stopAppLoad(trialId, marks ? { untilOkAfter: marks.resumedAt + 1000, maxWaitMs: AWAIT_ANSWER_MS, onWait: (waitedMs) => heartbeat({ waitingFor: `${service.service} to answer its clients again`, waitedMs }) } : {});
      if (!result) return null;
      await store.writeRaw(trialId, 'trial', 'app-requests.csv', requestsCsv(result.requests));
      // nothing moved: every request is "before"
      const cut = marks ?? { startedAt: Infinity, pausedAt: Infinity, resumedAt: Infinity };
      return { ...service, version, marks, downtime: appDowntime(result.requests, cut, { ratePerS: service.requestsPerS }), connectionError: result.connectionError };
    },
  };
}
