/**
 * A precopy model: what a trial's migration will cost before it runs. Pass 0 sends the guest's
 * memory that is not zero; each later pass sends what the guest dirtied during the one before,
 * until the hypervisor switches over (QEMU: remaining ≤ bandwidth × downtime limit; Xen: after
 * its pass limit, or when almost nothing is left). Sandbox-safe (pure arithmetic): the trial
 * workflow predicts each attempt before it starts; `miglab predict` and the report use it too.
 *
 * Units: MiB, seconds, MiB/s unless a name says otherwise.
 */

export type Pattern = 'seq' | 'random';

export interface ModelWorkload {
  workingSetMiB: number;
  /** how fast the workload writes pages (MiB/s of page writes, not distinct pages) */
  writeRateMiBps: number;
  pattern: Pattern;
}

export interface ModelGuest {
  memoryMiB: number;
  /** what the first pass sends in full: the guest's pages that are not zero */
  nonZeroMiB: number;
  workload: ModelWorkload | null;
  /** the idle guest's own dirtying, beside the workload's (distinct MiB per second) */
  idleDirtyMiBps: number;
}

export interface ModelLink {
  bandwidthMiBps: number;
  /** 'cap': the configured limit; 'measured': what earlier migrations reached (the host could not reach the cap) */
  source: 'cap' | 'measured';
  /**
   * how fast the last copy goes, with the VM stopped: QEMU lifts its bandwidth cap for it, so it
   * runs at what the hosts can do (measured from earlier migrations' downtime bytes); absent: the
   * bandwidth above, which overstates DT wherever the hosts are faster than the cap
   */
  switchoverMiBps?: number;
}

/** What one attempt is asked to do (the fields of the trial's AttemptPlan the model reads). */
export interface ModelPlan {
  index: number;
  name: string;
  downtimeLimitMs: number;
  autoConverge: { initialThrottle: number; increment: number } | null;
  postcopy: boolean;
  /** passes before the switch to post-copy (default 1, the ladder's rung) */
  postcopyAfterPasses?: number;
  /** the trial's pause level: once precopy has made its passes, the rest is sent at the cap with the guest stopped */
  tuning?: { pause?: { afterPasses: number } | null };
}

export interface ModelRules {
  hypervisor: 'qemu' | 'libvirt' | 'xen';
  /** miglab's abort rules (activities/migration/abort-rules.ts) */
  stallIterations: number;
  completionTimeoutSPerGiB: number;
  fallback: 'offline' | 'none';
  /** the offline fallback's bandwidth, when it differs from the live one */
  fallbackBandwidthMiBps?: number;
}

/** Fixed costs outside the passes; calibrate them from a campaign's baseline trials when there are some. */
export interface ModelOverheads {
  setupMs: number;
  /** stopping the VM, the device state and resuming on the destination, beyond the last pass's bytes */
  switchoverMs: number;
}

export const DEFAULT_OVERHEADS: ModelOverheads = { setupMs: 5, switchoverMs: 20 };

const PAGE = 4096;
/** QEMU's per-page header in the stream; a zero page costs only this */
const HEADER_BYTES = 8;
const MiB = 2 ** 20;
/** QEMU 7.2's auto-converge: throttle when a ≥ 1 s period dirtied more than this share of what it sent, twice */
const THROTTLE_TRIGGER = 0.5;
const MAX_THROTTLE_PCT = 99;
/** Xen 4.17's precopy policy (libxenguest): stop and copy after this many passes, or below this many dirty pages */
const XEN_MAX_PASSES = 5;
const XEN_TARGET_DIRTY_PAGES = 50;
/** miglab's stall rule: a new low must be this much lower than the last */
const STALL_MIN_IMPROVEMENT = 0.01;
/** a loop guard: real precopy that has not converged by then has long hit a rule */
const MAX_PASSES = 100_000;

export interface PredictedPass {
  sentMiB: number;
  seconds: number;
  /** dirtied while this pass was sent: what the next one must send */
  dirtiedMiB: number;
  throttlePct: number;
}

export type PredictedEnd = 'converged' | 'stall' | 'completion-timeout';

export interface PredictedAttempt {
  index: number;
  name: string;
  end: PredictedEnd;
  passes: PredictedPass[];
  /** for an attempt that moves the VM: its TMT, DT and MD; for one that gives up: its time and bytes until then */
  tmtMs: number;
  dtMs: number | null;
  mdBytes: number;
}

export interface Prediction {
  /** the same kinds as a trial's outcome */
  verdict: 'converged' | 'offline' | 'failed';
  /** the attempt predicted to move the VM live (null: offline or not at all) */
  attempt: number | null;
  step: string;
  /** of the move (the attempt that moves the VM, or the offline one), as the paper reports them */
  tmtMs: number | null;
  dtMs: number | null;
  mdBytes: number | null;
  /** precopy passes of the attempt that moves the VM (dirty-sync rounds) */
  passes: number | null;
  attempts: PredictedAttempt[];
  bandwidth: ModelLink;
  /** the largest working set, written flat out in sequence, that converges with the first attempt's settings */
  cliffMiB: number;
}

/** Distinct MiB the guest dirties in `t` seconds with its vCPU throttled by `throttlePct`. */
export function dirtiedIn(guest: ModelGuest, t: number, throttlePct = 0): number {
  const run = 1 - throttlePct / 100;
  let mib = guest.idleDirtyMiBps * run * t;
  const w = guest.workload;
  if (w && w.workingSetMiB > 0) {
    const written = w.writeRateMiBps * run * t;
    mib += w.pattern === 'seq' ? Math.min(w.workingSetMiB, written) : w.workingSetMiB * (1 - Math.exp(-written / w.workingSetMiB));
  }
  return Math.min(mib, guest.memoryMiB);
}

/** Whole pages, as the hypervisor counts them: a fixed point is reached in finitely many passes. */
const pages = (mib: number) => Math.ceil((mib * MiB) / PAGE);
const wholePages = (mib: number) => (pages(mib) * PAGE) / MiB;
/** bytes on the wire for `mib` of pages sent in full */
const streamBytes = (mib: number) => pages(mib) * (PAGE + HEADER_BYTES);
/** what a first pass (or an offline move) sends for the guest's zero pages: their headers alone */
const zeroPageBytes = (guest: ModelGuest) => (pages(guest.memoryMiB) - pages(guest.nonZeroMiB)) * HEADER_BYTES;

/** One live attempt, pass by pass. */
export function predictAttempt(guest: ModelGuest, link: ModelLink, plan: ModelPlan, rules: ModelRules, o: ModelOverheads = DEFAULT_OVERHEADS): PredictedAttempt {
  const b = link.bandwidthMiBps;
  const xen = rules.hypervisor === 'xen';
  const threshold = xen ? (XEN_TARGET_DIRTY_PAGES * PAGE) / MiB : b * (plan.downtimeLimitMs / 1000);
  const timeoutS = rules.completionTimeoutSPerGiB * (guest.memoryMiB / 1024);
  const passes: PredictedPass[] = [];
  // pass 0 sends every page: the zero ones as headers only
  let mdBytes = zeroPageBytes(guest);
  let t = o.setupMs / 1000;
  let toSend = wholePages(Math.min(guest.nonZeroMiB, guest.memoryMiB));
  let throttle = 0;
  let low = Number.POSITIVE_INFINITY;
  let lowPass = 0;
  // auto-converge's bookkeeping: a period closes at the first sync at least 1 s after the last
  let period = { s: 0, sent: 0, dirtied: 0 };
  let highPeriods = 0;
  const moved = (remaining: number, postcopy: boolean, paused = false): PredictedAttempt => {
    // post-copy: the VM runs on the destination at once; the rest is pulled after it (capped).
    // Paused by miglab: the migration goes on at its cap while the guest stands still.
    const lastCopyMs = (remaining / (postcopy || paused ? b : (link.switchoverMiBps ?? b))) * 1000;
    const dtMs = postcopy ? o.switchoverMs : lastCopyMs + o.switchoverMs;
    const tmtMs = t * 1000 + lastCopyMs + o.switchoverMs;
    return { index: plan.index, name: plan.name, end: 'converged', passes, tmtMs, dtMs, mdBytes: mdBytes + streamBytes(remaining) };
  };
  const pauseAfter = plan.tuning?.pause?.afterPasses;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    // paused once its passes are made (0: from the start): what is left goes with the guest stopped
    if (pauseAfter !== undefined && pass >= pauseAfter) return moved(toSend, false, true);
    const seconds = toSend / b;
    t += seconds;
    mdBytes += streamBytes(toSend);
    const dirtied = wholePages(dirtiedIn(guest, seconds, throttle));
    passes.push({ sentMiB: toSend, seconds, dirtiedMiB: dirtied, throttlePct: throttle });
    const done = passes.length;
    if (dirtied <= threshold) return moved(dirtied, false);
    // Xen pays whatever is left as downtime once its passes are spent
    if (xen && done >= XEN_MAX_PASSES) return moved(dirtied, false);
    // miglab switches to post-copy after the first pass (or a post-copy level's passes)
    if (plan.postcopy && done >= Math.max(1, plan.postcopyAfterPasses ?? 1)) return moved(dirtied, true);
    if (t > timeoutS) return { index: plan.index, name: plan.name, end: 'completion-timeout', passes, tmtMs: t * 1000, dtMs: null, mdBytes };
    // miglab's stall rule (on QEMU's dirty-sync count, one ahead of the passes: it syncs once
    // before the first) starts at the remaining bytes after the first pass
    if (!xen) {
      if (dirtied < low * (1 - STALL_MIN_IMPROVEMENT)) {
        low = dirtied;
        lowPass = done;
      } else if (done - lowPass >= rules.stallIterations) {
        return { index: plan.index, name: plan.name, end: 'stall', passes, tmtMs: t * 1000, dtMs: null, mdBytes };
      }
    }
    if (plan.autoConverge && !xen) {
      period = { s: period.s + seconds, sent: period.sent + toSend, dirtied: period.dirtied + dirtied };
      if (period.s >= 1) {
        if (period.dirtied > THROTTLE_TRIGGER * period.sent && ++highPeriods >= 2) {
          highPeriods = 0;
          throttle = throttle === 0 ? plan.autoConverge.initialThrottle : Math.min(throttle + plan.autoConverge.increment, MAX_THROTTLE_PCT);
        }
        period = { s: 0, sent: 0, dirtied: 0 };
      }
    }
    toSend = dirtied;
  }
  return { index: plan.index, name: plan.name, end: 'stall', passes, tmtMs: t * 1000, dtMs: null, mdBytes };
}

/** The largest sequential working set, written flat out, that the first attempt's settings converge: W + idle·W/B ≤ B·DT. */
export function modelCliffMiB(link: ModelLink, downtimeLimitMs: number, idleDirtyMiBps: number): number {
  const b = link.bandwidthMiBps;
  return (b * (downtimeLimitMs / 1000)) / (1 + idleDirtyMiBps / b);
}

/** A trial: its attempts in order until one converges, then the fallback. */
export function predictTrial(guest: ModelGuest, link: ModelLink, plans: readonly ModelPlan[], rules: ModelRules, o: ModelOverheads = DEFAULT_OVERHEADS): Prediction {
  const attempts: PredictedAttempt[] = [];
  const cliffMiB = modelCliffMiB(link, plans[0]?.downtimeLimitMs ?? 0, guest.idleDirtyMiBps);
  for (const plan of plans) {
    const a = predictAttempt(guest, link, plan, rules, o);
    attempts.push(a);
    if (a.end === 'converged') {
      return { verdict: 'converged', attempt: plan.index, step: plan.name, tmtMs: a.tmtMs, dtMs: a.dtMs, mdBytes: a.mdBytes, passes: a.passes.length, attempts, bandwidth: link, cliffMiB };
    }
  }
  if (rules.fallback === 'offline') {
    // paused, then every page once: the downtime is the whole move
    const b = rules.fallbackBandwidthMiBps ?? link.bandwidthMiBps;
    const mdBytes = streamBytes(guest.nonZeroMiB) + zeroPageBytes(guest);
    const tmtMs = o.setupMs + (guest.nonZeroMiB / b) * 1000 + o.switchoverMs;
    return { verdict: 'offline', attempt: null, step: 'offline', tmtMs, dtMs: tmtMs, mdBytes, passes: 1, attempts, bandwidth: link, cliffMiB };
  }
  return { verdict: 'failed', attempt: null, step: 'none', tmtMs: null, dtMs: null, mdBytes: null, passes: null, attempts, bandwidth: link, cliffMiB };
}

/** One line for a step's summary in the Temporal UI, e.g. "model: converges on attempt 0 in 3 passes, TMT 1.2 s, DT 180 ms, MD 92 MiB". */
export function predictionLine(p: Prediction): string {
  if (p.verdict === 'failed') return 'model: no attempt converges';
  const how = p.verdict === 'offline' ? 'offline' : `converges on attempt ${p.attempt} in ${p.passes} passes`;
  return `model: ${how}, TMT ${(p.tmtMs! / 1000).toFixed(1)} s, DT ${Math.round(p.dtMs!)} ms, MD ${Math.round(p.mdBytes! / MiB)} MiB (${p.bandwidth.source} ${Math.round(p.bandwidth.bandwidthMiBps)} MiB/s)`;
}
