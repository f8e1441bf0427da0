/**
 * A trial that fails for good is recorded with its first cause, where the VM was then, and what
 * the retries met — seen on the bed: the source QEMU killed mid-migration was recorded as the
 * retries' "(SSH) Channel open failure" instead of "QMP connection closed by QEMU".
 * Stubbed activities and backend; the real results store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFailures, withFailureLog, withFirstCause } from '../activities/failure-log.js';
import type { HypervisorBackend, VmState } from '../activities/backend.js';
import { ResultsStore } from '../results/store.js';
import type { TrialActivities, TrialRow } from '../workflows/trial-types.js';
import { input } from './helpers/trial-stubs.js';

describe('the failure log of a trial', () => {
  it('records the first cause and the VM, not only the last retry', async () => {
    const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-failures-')));
    const errors = ['QMP connection closed by QEMU', '(SSH) Channel open failure: open failed', '(SSH) Channel open failure: open failed'];
    const state: Record<string, VmState> = { hosta: { kind: 'absent' }, hostb: { kind: 'incoming' } };
    const backend = { vmState: async (host: string) => state[host]! } as unknown as HypervisorBackend;
    const acts = withFailureLog({ liveMigrate: async () => { throw new Error(errors.shift()); } } as unknown as TrialActivities, store, backend);
    const inp = input();
    const migrate = () => acts.liveMigrate({ trialId: inp.trialId, src: 'hosta', dst: 'hostb', spec: inp.spec, plan: { index: 0, name: 'precopy', maxBandwidth: 1, downtimeLimitMs: 300, autoConverge: null, postcopy: false }, rules: { completionTimeoutSPerGiB: 800, stallIterations: 10 } });
    for (let i = 0; i < 3; i++) await expect(migrate()).rejects.toThrow();

    const failures = await readFailures(store, inp.trialId);
    expect(failures.map((f) => [f.step, f.error])).toEqual([
      ['liveMigrate', 'QMP connection closed by QEMU'],
      ['liveMigrate', '(SSH) Channel open failure: open failed'],
      ['liveMigrate', '(SSH) Channel open failure: open failed'],
    ]);
    expect(failures[0]!.vm).toBe('vm1: not running (no process) on hosta, waiting for an incoming migration on hostb');

    // the workflow knows only the last attempt's error
    const row = { trialId: inp.trialId, outcome: { kind: 'failed', reason: '(SSH) Channel open failure: open failed' } } as TrialRow;
    const recorded = withFirstCause(row, failures);
    expect(recorded.outcome).toEqual({
      kind: 'failed',
      reason: 'liveMigrate attempt 1 failed: QMP connection closed by QEMU; then vm1: not running (no process) on hosta, waiting for an incoming migration on hostb; the retries met: (SSH) Channel open failure: open failed',
    });
    expect(recorded.failures).toHaveLength(3);
  });

  it('leaves a trial that did not fail as it is, and says when a host could not be asked', async () => {
    const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-failures-')));
    const backend = { vmState: async () => { throw new Error('connect ECONNREFUSED 198.18.0.10:22'); } } as unknown as HypervisorBackend;
    const acts = withFailureLog({ prepareVm: async () => { throw new Error('qemu: cannot allocate memory'); } } as unknown as TrialActivities, store, backend);
    const inp = input();
    await expect(acts.prepareVm({ host: 'hosta', spec: { ...inp.spec, owner: inp.trialId } })).rejects.toThrow('cannot allocate');
    const failures = await readFailures(store, inp.trialId);
    expect(failures[0]!.vm).toBe('vm1: unknown on hosta (connect ECONNREFUSED 198.18.0.10:22)');
    const converged = { trialId: inp.trialId, outcome: { kind: 'converged', attempt: 0, step: 'precopy' } } as TrialRow;
    expect(withFirstCause(converged, failures)).toBe(converged);
  });
});
