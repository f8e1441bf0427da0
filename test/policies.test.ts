import { describe, expect, it } from 'vitest';
import { LONG, RECORD, retrySpanS, SHORT, WORKLOAD } from '../workflows/policies.js';

describe("the trial's retry policies", () => {
  it('give up after the sum of their backoffs; recording and teardown never do', () => {
    expect(retrySpanS(LONG)).toBe(2 + 4 + 8 + 16); // 5 attempts, 2 s doubling
    expect(retrySpanS(SHORT)).toBe(1 + 2 + 4 + 8);
    expect(retrySpanS(WORKLOAD)).toBe(2 + 4);
    expect(RECORD.retry?.maximumAttempts).toBeUndefined(); // unlimited: a row is never dropped
    expect(retrySpanS(RECORD)).toBe(1 + 2 + 4 + 8 + 16 + 95 * 30); // counted to a hundred attempts: 30 s apart after the fifth
  });
});
