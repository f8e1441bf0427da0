/**
 * A host its backend finds unfit (HostUnhealthy: a Xen dom0 whose processes crashed, a toolstack
 * that does not answer) fails the trial at once with the host's reason: the steps that would start
 * work there throw a non-retryable failure of type HostUnhealthy, before anything runs on the host.
 * Stubbed backend (its checks are tested in xen-dom0-health.test.ts and xen.e2e.test.ts); the
 * real trial activities and results store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { HostUnhealthy, type HypervisorBackend } from '../activities/backend.js';
import type { SshPool } from '../activities/ssh/pool.js';
import { createTrialActivities } from '../activities/trial-activities.js';
import type { Site } from '../lab/site.js';
import { ResultsStore } from '../results/store.js';
import { input } from './helpers/trial-stubs.js';

const SICK = "hosta's dom0 logged 1 segfault since miglab last found it healthy";

function activities(backend: Partial<HypervisorBackend>, calls: string[]) {
  const logged = new Proxy(backend, { get: (t, k) => (k in t ? t[k as keyof typeof t] : (k === 'then' ? undefined : () => { calls.push(String(k)); throw new Error(`unexpected backend.${String(k)}`); })) });
  const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-unhealthy-')));
  return createTrialActivities({ pool: {} as SshPool, backend: logged as HypervisorBackend, inventory: { hosts: [] } as unknown as Site, store });
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('a host found unfit', () => {
  it('fails prepareVm before the VM is started, not retried, with the reason', async () => {
    const calls: string[] = [];
    const acts = activities({ checkHealth: async (h) => { calls.push(`checkHealth ${h}`); throw new HostUnhealthy(SICK); }, vmState: async () => ({ kind: 'absent' }) }, calls);
    const inp = input();
    const f = await failure(acts.prepareVm({ host: 'hosta', spec: { ...inp.spec, owner: inp.trialId } }));
    expect([f.type, f.nonRetryable, f.message]).toEqual(['HostUnhealthy', true, SICK]);
    expect(calls).toEqual(['checkHealth hosta']);
  });

  it('fails a migration step the backend refused to start, not retried; other errors stay retryable', async () => {
    const inp = input();
    const args = { trialId: inp.trialId, src: 'hosta', dst: 'hostb', spec: inp.spec, plan: { index: 0, name: 'precopy', maxBandwidth: 1, downtimeLimitMs: 300, autoConverge: null, postcopy: false }, rules: { completionTimeoutSPerGiB: 800, stallIterations: 10 } } as const;
    const sick = activities({ migrate: async () => { throw new HostUnhealthy(SICK); }, migrateOffline: async () => { throw new HostUnhealthy(SICK); }, vmState: async () => ({ kind: 'running' }) }, []);
    const live = await failure(sick.liveMigrate(args));
    expect([live.type, live.nonRetryable]).toEqual(['HostUnhealthy', true]);
    const offline = await failure(sick.offlineMigrate({ trialId: inp.trialId, attempt: 1, src: 'hosta', dst: 'hostb', spec: inp.spec, maxBandwidth: 1 }));
    expect([offline.type, offline.nonRetryable]).toEqual(['HostUnhealthy', true]);
    const flaky = activities({ migrate: async () => { throw new Error('ssh: connection reset'); }, vmState: async () => ({ kind: 'running' }) }, []);
    const err = await flaky.liveMigrate(args).then(() => undefined, (e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).message).toBe('ssh: connection reset');
  });
});
