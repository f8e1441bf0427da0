import { describe, expect, it } from 'vitest';
import { newFailureLines } from '../cli/attempt-failures.js';
import type { TrialStep } from '../cli/run.js';

const step = (over: Partial<TrialStep>): TrialStep => ({ trialId: 'p/ramp/8MiB/r1', step: 'liveMigrate', remaining: null, pass: null, attempt: 1, maxAttempts: 5, lastFailure: null, ...over });

describe("miglab run's line per failed attempt", () => {
  it('one line per failed attempt, once, with the first line of the error and where the details are', () => {
    const shown = new Set<string>();
    const failure = 'QMP connection closed by QEMU\n    at QmpClient.fail (activities/qmp/client.ts:120:5)';
    expect(newFailureLines([step({})], shown, '/s/logs/run.log')).toEqual([]); // first attempt running: nothing failed
    expect(newFailureLines([step({ attempt: 2, lastFailure: failure })], shown, '/s/logs/run.log')).toEqual([
      'p/ramp/8MiB/r1 liveMigrate attempt 2/5: the last one failed: QMP connection closed by QEMU (details: /s/logs/run.log)',
    ]);
    // the same attempt on the next poll: already said
    expect(newFailureLines([step({ attempt: 2, lastFailure: failure })], shown, '/s/logs/run.log')).toEqual([]);
    // an unlimited policy has no "/n"
    expect(newFailureLines([step({ step: 'recordTrial', attempt: 7, maxAttempts: null, lastFailure: 'EEXIST' })], shown, 'l')).toEqual(['p/ramp/8MiB/r1 recordTrial attempt 7: the last one failed: EEXIST (details: l)']);
  });
});
