/**
 * When to give up on a live migration that is not converging. Two rules, as production systems
 * use them: a completion timeout scaled by guest memory (Nova: 800 s per GiB), and a stall rule on
 * the trace of remaining bytes (KubeVirt's low-water mark): precopy that sets no new low of
 * remaining bytes for N iterations is not going to finish.
 */
import type { MigrationProgress } from '../backend.js';

export interface AbortRules {
  /** seconds per GiB of guest memory */
  completionTimeoutSPerGiB: number;
  guestMemoryMiB: number;
  /** iterations (dirty-sync rounds) without a new low of remaining bytes */
  stallIterations: number;
  /**
   * how much lower than the last low a new low must be (fraction); real traces jitter by a few
   * hundred KiB around a floor, which must not count as progress. Default 1 %.
   */
  minImprovement?: number;
}

export type AbortVerdict =
  | { abort: false }
  | { abort: true; rule: 'completion-timeout' | 'stall'; reason: string };

export class AbortWatch {
  private low = Number.POSITIVE_INFINITY;
  private lowIteration = 0;
  private readonly timeoutMs: number;

  constructor(private readonly rules: AbortRules) {
    this.timeoutMs = rules.completionTimeoutSPerGiB * 1000 * (rules.guestMemoryMiB / 1024);
  }

  /** Feeds one poll of query-migrate; says whether to abort now. */
  observe(p: MigrationProgress): AbortVerdict {
    if (p.status !== 'active') return { abort: false };
    if (p.elapsedMs > this.timeoutMs) {
      return { abort: true, rule: 'completion-timeout', reason: `not complete after ${(p.elapsedMs / 1000).toFixed(1)} s (limit ${(this.timeoutMs / 1000).toFixed(1)} s for ${this.rules.guestMemoryMiB} MiB)` };
    }
    // The first pass copies all of memory; the low-water mark means something from the second on.
    if (p.iterations < 2) return { abort: false };
    if (p.remainingBytes < this.low * (1 - (this.rules.minImprovement ?? 0.01))) {
      this.low = p.remainingBytes;
      this.lowIteration = p.iterations;
      return { abort: false };
    }
    const since = p.iterations - this.lowIteration;
    if (since >= this.rules.stallIterations) {
      return {
        abort: true,
        rule: 'stall',
        reason: `no new low of remaining bytes for ${since} iterations (low ${(this.low / 2 ** 20).toFixed(1)} MiB at iteration ${this.lowIteration})`,
      };
    }
    return { abort: false };
  }
}
