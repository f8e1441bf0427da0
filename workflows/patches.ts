/**
 * Every `patched()` id the workflows use, with the change it guards. A change of the commands a
 * workflow issues (their order, their number, a child's id) must take a new entry here and keep the
 * old path behind `patched(id) ? new : old`, so a workflow started by an older miglab replays on a
 * newer one; test/replay.test.ts replays the committed histories of every older version.
 * An entry can go (with its old path, via `deprecatePatch`) once no workflow that lacks it can still
 * be running.
 *
 * Sandbox code (see workflows/README.md).
 */
export const PATCH = {
  /** 0.2: trial children are `trial/<trialId>` (were `campaign/<name>/<trialId>`, the name twice) */
  trialWorkflowId: 'trial-workflow-id',
  /** 0.3: long trial steps wait for a cancel to be acknowledged (WAIT_CANCELLATION_COMPLETED) before the teardown */
  waitForCancelledSteps: 'wait-for-cancelled-steps',
  /** 0.4: trials measure the idle guest's dirty rate before the workload starts, and predict each attempt (workflows/precopy-model.ts) */
  predictPrecopy: 'predict-precopy',
  /** 0.5: a VM with a disk gets a file written before the move and read back from the disk after it */
  diskWitness: 'disk-witness',
  /** 0.6: a service trial starts its service, loads its key set and runs an open-loop load across the move */
  appService: 'app-service',
  /**
   * 0.7: the campaign expands its trials from a plan one window at a time (recordedCounts once,
   * recordedAmong per window) instead of listing them all in its input and reading every recorded
   * row at each run's start
   */
  campaignPlan: 'campaign-plan',
  /**
   * 0.7: a lane with a task queue of its own (its pair's) starts its trials there, and its reused
   * VM's final teardown runs there: only workers that reach the pair take them
   */
  pairTaskQueue: 'pair-task-queue',
} as const;

/** The workflow version this checkout records its histories under (test/fixtures/histories/<it>/). */
export const MIGLAB_HISTORY_VERSION = '0.7';
