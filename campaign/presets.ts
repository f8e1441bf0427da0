/**
 * Named comparisons after QEMU's guestperf (tests/migration-stress/guestperf): each names the
 * levels guestperf compares, as factors; the campaign brings its own scenarios, repetitions and
 * the settings a comparison leaves alone (guestperf runs each once, with a 500 ms limit and no cap).
 * Plain data: `preset: post-copy-iters` in a campaign file is the same as writing its factors.
 */
import type { Factors } from './spec.js';

/** guestperf's link speeds, 100 Mbit/s to 100 Gbit/s, in MiB/s as guestperf gives them */
const LINKS = [12, 37, 125, 1250, 12500];

export const PRESETS = {
  /** the guest paused once precopy has made 0, 1, 5 or 20 passes: the rest goes with it stopped */
  'pause-iters': () => ({ pause: [0, 1, 5, 20].map((afterPasses) => ({ afterPasses })) }),
  /** post-copy after its default 5 passes, over links from 100 Mbit/s to 100 Gbit/s */
  'post-copy-bandwidth': () => ({ postcopy: [{ afterPasses: 5 }], bandwidthMiBps: LINKS }),
  /** post-copy switched on after 0, 1, 5 or 20 precopy passes */
  'post-copy-iters': () => ({ postcopy: [0, 1, 5, 20].map((afterPasses) => ({ afterPasses })) }),
  /** auto-converge raising the throttle by 5, 10 or 20 % a step */
  'auto-converge-iters': () => ({ autoConverge: [5, 10, 20].map((increment) => ({ initialThrottle: 20, increment, maxThrottle: 99, tailslow: false })) }),
  /** auto-converge (steps of 10 %) over links from 100 Mbit/s to 100 Gbit/s */
  'auto-converge-bandwidth': () => ({ autoConverge: [{ initialThrottle: 20, increment: 10, maxThrottle: 99, tailslow: false }], bandwidthMiBps: LINKS }),
  /**
   * XBZRLE with a cache of 5, 10, 20 and 50 % of the guest's RAM, each rounded down to a power
   * of two MiB (QEMU before 9.0 takes no other size)
   */
  'compr-xbzrle': (memoryMiB: number) => ({ xbzrle: [...new Set([5, 10, 20, 50].map((pct) => 2 ** Math.floor(Math.log2(Math.max(1, (memoryMiB * pct) / 100)))))] }),
  /** multifd over 4, 8, 32 and 64 channels */
  'compr-multifd': () => ({ multifd: [4, 8, 32, 64].map((channels) => ({ channels, compression: 'none' as const })) }),
} satisfies Record<string, (memoryMiB: number) => Factors>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

/**
 * guestperf's comparisons miglab does not offer, and why: a user who names one is told.
 */
export const PRESETS_NOT_OFFERED: Record<string, string> = {
  'compr-mt': "QEMU's multi-threaded compression was deprecated in 8.2 and removed in 9.1; miglab does not set it",
  'compr-dirty-limit': "dirty-limit needs QEMU 8.1 or later (the bed's Debian QEMU is 7.2)",
  'compr-dirty-limit-period': "dirty-limit needs QEMU 8.1 or later (the bed's Debian QEMU is 7.2)",
};
