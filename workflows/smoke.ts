/**
 * The bed's smoke migration: boot a guest on one host, check it, migrate it live to another,
 * check it again. Teardown always runs, on failure and cancellation too.
 */
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { LabActivities, GuestCheck } from '../activities/lab-activities.js';
import type { MigrationParams, MigrationResult } from '../activities/backend.js';
import type { VmSpec } from '../activities/qemu/vm-spec.js';

export interface SmokeInput {
  spec: VmSpec;
  src: string;
  dst: string;
  params: MigrationParams;
  bootTimeoutMs: number;
}

export interface SmokeResult {
  bootMs: number;
  before: GuestCheck;
  migration: MigrationResult;
  after: GuestCheck | undefined;
}

const quick = proxyActivities<LabActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

const watched = proxyActivities<LabActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
});

export async function smokeMigration(input: SmokeInput): Promise<SmokeResult> {
  const { spec, src, dst } = input;
  try {
    await quick.startVm({ host: src, spec });
    const bootMs = await watched.waitForGuest({ spec, timeoutMs: input.bootTimeoutMs });
    const before = await quick.checkGuest({ spec });
    const migration = await watched.migrateVm({ src, dst, spec, params: input.params });
    let after: GuestCheck | undefined;
    if (migration.status === 'completed') {
      // The source is left paused after the move; stop it so the VM runs in one place only.
      await quick.stopVm({ host: src, vm: spec.name });
      await watched.waitForGuest({ spec, timeoutMs: 30_000 });
      after = await quick.checkGuest({ spec });
    }
    return { bootMs, before, migration, after };
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await quick.stopVm({ host: src, vm: spec.name });
      await quick.stopVm({ host: dst, vm: spec.name });
    });
  }
}
