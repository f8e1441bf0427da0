/** The precopy model against pass sequences computed by hand. */
import { describe, expect, it } from 'vitest';
import { dirtiedIn, modelCliffMiB, predictAttempt, predictTrial, type ModelGuest, type ModelLink, type ModelPlan, type ModelRules } from '../workflows/precopy-model.js';

const link: ModelLink = { bandwidthMiBps: 100, source: 'cap' };
const qemu: ModelRules = { hypervisor: 'qemu', stallIterations: 3, completionTimeoutSPerGiB: 800, fallback: 'offline' };
const precopy = (downtimeLimitMs: number, index = 0): ModelPlan => ({ index, name: index ? `downtime limit ${downtimeLimitMs} ms` : 'precopy', downtimeLimitMs, autoConverge: null, postcopy: false });
const guest = (w: ModelGuest['workload'], o: Partial<ModelGuest> = {}): ModelGuest => ({ memoryMiB: 256, nonZeroMiB: 80, workload: w, idleDirtyMiBps: 0, ...o });
const MiB = 2 ** 20;
/** bytes for n MiB of full pages (4096 + an 8-byte header each) */
const full = (mib: number) => (mib * 256) * 4104;
const zeroHeaders = (mib: number) => (256 * 256 - mib * 256) * 8;

describe('precopy model', () => {
  it('dirties min(W, r·t) in sequence and W(1 − e^(−r·t/W)) at random, less the throttle, plus the idle rate', () => {
    const seq = guest({ workingSetMiB: 48, writeRateMiBps: 20, pattern: 'seq' });
    expect(dirtiedIn(seq, 1)).toBe(20);
    expect(dirtiedIn(seq, 10)).toBe(48);
    expect(dirtiedIn(seq, 1, 50)).toBe(10);
    expect(dirtiedIn(guest({ workingSetMiB: 64, writeRateMiBps: 64, pattern: 'random' }), 1)).toBeCloseTo(64 * (1 - Math.exp(-1)), 10);
    expect(dirtiedIn(guest(null, { idleDirtyMiBps: 2 }), 3)).toBe(6);
  });

  it('converges after the first pass when what the guest dirtied in it fits bandwidth × downtime limit', () => {
    // pass 0: 80 MiB at 100 MiB/s = 0.8 s, in which 20 MiB/s dirties 16 MiB ≤ 30 MiB: switch over
    const a = predictAttempt(guest({ workingSetMiB: 48, writeRateMiBps: 20, pattern: 'seq' }), link, precopy(300), qemu);
    expect(a.end).toBe('converged');
    expect(a.passes.map((p) => [p.sentMiB, p.dirtiedMiB])).toEqual([[80, 16]]);
    expect(a.passes[0]!.seconds).toBeCloseTo(0.8, 10);
    // DT = 16 MiB / 100 MiB/s + 20 ms switchover; TMT = 5 ms setup + 800 + 160 + 20
    expect(a.dtMs).toBeCloseTo(180, 6);
    expect(a.tmtMs).toBeCloseTo(985, 6);
    expect(a.mdBytes).toBe(zeroHeaders(80) + full(80) + full(16));
  });

  it('copies the rest at the uncapped switch-over rate when it is known (QEMU lifts the cap once the VM is stopped)', () => {
    const g = guest({ workingSetMiB: 16, writeRateMiBps: 1000, pattern: 'seq' });
    const a = predictAttempt(g, { ...link, switchoverMiBps: 400 }, precopy(300), qemu);
    // 16 MiB at 400 MiB/s = 40 ms, not the 160 ms the 100 MiB/s cap would take
    expect(a.dtMs).toBeCloseTo(40 + 20, 6);
    expect(a.tmtMs).toBeCloseTo(5 + 800 + 40 + 20, 6);
  });

  it('stalls when a re-dirtied working set exceeds the threshold; the ladder\'s raised limit then converges it', () => {
    const g = guest({ workingSetMiB: 48, writeRateMiBps: 1000, pattern: 'seq' });
    const stalled = predictAttempt(g, link, precopy(300), qemu);
    // 80, then 48 every pass: the low (48) is set after the first pass and not beaten in 3 more
    expect(stalled.end).toBe('stall');
    expect(stalled.passes.map((p) => p.sentMiB)).toEqual([80, 48, 48, 48]);
    expect(stalled.tmtMs).toBeCloseTo(5 + 800 + 3 * 480, 6);
    const p = predictTrial(g, link, [precopy(300), precopy(1000, 1)], qemu);
    expect(p).toMatchObject({ verdict: 'converged', attempt: 1, passes: 1 });
    expect(p.dtMs).toBeCloseTo(480 + 20, 6);
    expect(p.cliffMiB).toBe(30);
  });

  it('converges in three passes for a random pattern whose passes shrink', () => {
    // B = 64, threshold 32 MiB; W = 64 MiB written at 64 MiB/s at random; 96 MiB not zero
    const g = guest({ workingSetMiB: 64, writeRateMiBps: 64, pattern: 'random' }, { nonZeroMiB: 96 });
    const a = predictAttempt(g, { bandwidthMiBps: 64, source: 'measured' }, precopy(500), qemu);
    const d1 = 64 * (1 - Math.exp(-1.5)); // 49.7 MiB in pass 0's 1.5 s
    const d2 = 64 * (1 - Math.exp(-d1 / 64)); // 34.6 in pass 1
    const d3 = 64 * (1 - Math.exp(-d2 / 64)); // 26.7 ≤ 32: switch over
    expect(a.end).toBe('converged');
    const pg = 1 / 256; // whole pages
    expect(a.passes.map((p) => p.dirtiedMiB)).toEqual([d1, d2, d3].map(() => expect.any(Number)));
    a.passes.forEach((p, i) => expect(Math.abs(p.dirtiedMiB - [d1, d2, d3][i]!)).toBeLessThan(2 * pg));
    expect(a.dtMs! - 20).toBeCloseTo((a.passes[2]!.dirtiedMiB / 64) * 1000, 6);
  });

  it('Xen stops after five passes and pays the rest as downtime', () => {
    const g = guest({ workingSetMiB: 48, writeRateMiBps: 1000, pattern: 'seq' });
    const a = predictAttempt(g, { bandwidthMiBps: 10, source: 'measured' }, precopy(300), { ...qemu, hypervisor: 'xen' });
    expect(a.end).toBe('converged');
    expect(a.passes.map((p) => p.sentMiB)).toEqual([80, 48, 48, 48, 48]);
    expect(a.dtMs).toBeCloseTo(4800 + 20, 6);
  });

  it('auto-converge throttles the guest until it fits, after two high periods of at least a second', () => {
    // 60 MiB re-dirtied at 100 MiB/s in sequence against 20 MiB/s and 1 s: never fits unthrottled
    const g = guest({ workingSetMiB: 60, writeRateMiBps: 100, pattern: 'seq' });
    const l: ModelLink = { bandwidthMiBps: 20, source: 'cap' };
    const ac: ModelPlan = { ...precopy(1000), autoConverge: { initialThrottle: 20, increment: 10 } };
    const a = predictAttempt(g, l, ac, { ...qemu, stallIterations: 1000 });
    expect(a.end).toBe('converged');
    const throttles = a.passes.map((p) => p.throttlePct);
    expect(throttles[0]).toBe(0);
    // each pass of 60 MiB takes 3 s (a period each): the throttle starts at the second high period, then +10 every second one
    expect(throttles.slice(0, 6)).toEqual([0, 0, 20, 20, 30, 30]);
    // at 80 % a 3 s pass still re-dirties all 60 MiB; at 90 % it dirties 30, whose 1.5 s pass dirties 15 ≤ 20: switch over
    expect(a.passes.slice(-3).map((p) => [p.throttlePct, p.sentMiB, p.dirtiedMiB])).toEqual([[80, 60, 60], [90, 60, 30], [90, 30, 15]]);
    expect(predictAttempt(g, l, precopy(1000), { ...qemu, stallIterations: 3 }).end).toBe('stall');
  });

  it('falls back offline: the whole move is downtime; without a fallback the verdict is failed', () => {
    const g = guest({ workingSetMiB: 64, writeRateMiBps: 1000, pattern: 'seq' });
    const off = predictTrial(g, link, [precopy(300)], qemu);
    expect(off).toMatchObject({ verdict: 'offline', attempt: null });
    expect(off.dtMs).toBe(off.tmtMs);
    expect(off.tmtMs).toBeCloseTo(5 + 800 + 20, 6);
    expect(predictTrial(g, link, [precopy(300)], { ...qemu, fallback: 'none' })).toMatchObject({ verdict: 'failed', tmtMs: null });
  });

  it("puts the cliff at bandwidth × downtime limit, lowered by the idle guest's dirtying", () => {
    expect(modelCliffMiB({ bandwidthMiBps: 112, source: 'cap' }, 300, 0)).toBeCloseTo(33.6, 10);
    expect(modelCliffMiB({ bandwidthMiBps: 100, source: 'cap' }, 300, 25)).toBeCloseTo(24, 10);
  });

  it('a completion timeout ends an attempt whose passes outlast it', () => {
    const g = guest({ workingSetMiB: 200, writeRateMiBps: 1000, pattern: 'seq' }, { nonZeroMiB: 240 });
    const a = predictAttempt(g, { bandwidthMiBps: 1, source: 'cap' }, precopy(300), { ...qemu, completionTimeoutSPerGiB: 800 });
    // 800 s/GiB × 0.25 GiB = 200 s: pass 0 alone takes 240 s
    expect(a.end).toBe('completion-timeout');
    expect(a.passes).toHaveLength(1);
    expect(a.mdBytes).toBe(zeroHeaders(240) + full(240));
    expect(MiB).toBe(1048576);
  });
});
