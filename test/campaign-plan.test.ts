/**
 * Factorial campaigns as plain data: the plan's trials (ids, levels, order), the refusals of
 * levels a campaign cannot honour (the bad-input catalogue's factor entries), and the levels as
 * QEMU and virsh receive them, with the pre-flight check's reading of a QEMU's answers.
 */
import { describe, expect, it } from 'vitest';
import { CampaignSpecError, parseCampaign, refuseIn } from '../campaign/load.js';
import { campaignPlan, expandTrials } from '../campaign/trials.js';
import { fullFactorial, levelsLabel, plannedTrials, seedOf, shuffled, trialCount } from '../workflows/campaign-plan.js';
import { parseTrialId, trialId } from '../workflows/names.js';
import { migrationWith } from '../workflows/campaign.js';
import { migrationCapabilities, migrationParameters, incomingSettings, tuningProbeRefusals, tuningProbeScript } from '../activities/qemu/migration-tuning.js';
import { virshTuningArgs } from '../activities/libvirt/tuning-args.js';
import { tuningChecks } from '../cli/tuning-check.js';
import { hostKind, lanePairs } from '../campaign/pairs.js';
import { planAttempts } from '../workflows/ladder.js';
import { predictTrial } from '../workflows/precopy-model.js';
import { manifestOf } from '../results/manifest.js';

const SWEEP = `campaign: sweep
bed: lab
vm:
  memoryMiB: 256
scenarios:
  - name: ramp
    kind: dirty-ramp
    workingSetsMiB: [8, 16, 32]
repetitions: 2
factors:
  bandwidthMiBps: [32, 112]
  downtimeLimitMs: [100, 300]
  xbzrle: [off, 64]
migration:
  bandwidthMiBps: 112
`;

function problemsOf(text: string): string {
  try {
    parseCampaign(text, 'sweep.yaml');
  } catch (e) {
    if (e instanceof CampaignSpecError) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('a factorial campaign', () => {
  const spec = parseCampaign(SWEEP, 'sweep.yaml');
  const trials = expandTrials(spec);

  it('runs every combination of the levels for every size and repetition, each trial once, with readable ids', () => {
    expect(trials).toHaveLength(3 * 8 * 2);
    expect(trialCount(campaignPlan(spec))).toBe(48);
    expect(new Set(trials.map((t) => t.id)).size).toBe(48);
    expect(trials.map((t) => t.id)).toContain('sweep/ramp/16MiB/bw32_dl100_xb64/r2');
    expect(trials.map((t) => t.id)).toContain('sweep/ramp/8MiB/bw112_dl300_xboff/r1');
    const t = trials.find((x) => x.id === 'sweep/ramp/16MiB/bw32_dl100_xb64/r2')!;
    expect(t).toMatchObject({ scenario: 'ramp', workingSetMiB: 16, repetition: 2, levels: { bandwidthMiBps: 32, downtimeLimitMs: 100, xbzrle: 64 }, workload: { workingSetMiB: 16, rate: 'max', pattern: 'seq' } });
    // the id's parts read back
    expect(parseTrialId(t.id)).toEqual({ campaign: 'sweep', scenario: 'ramp', workingSetMiB: 16, levels: 'bw32_dl100_xb64', repetition: 2 });
    expect(trialId(parseTrialId(t.id))).toBe(t.id);
    // without factors the ids are as they always were
    expect(parseTrialId('paper/dirty-ramp/32MiB/r2')).toEqual({ campaign: 'paper', scenario: 'dirty-ramp', workingSetMiB: 32, repetition: 2 });
  });

  it('runs in random order, blocked by repetition: all of repetition 1 before any of 2, each block a different shuffle', () => {
    expect(campaignPlan(spec).order).toEqual({ kind: 'random', seed: seedOf('sweep') });
    const reps = trials.map((t) => t.repetition);
    expect(reps).toEqual([...Array(24).fill(1), ...Array(24).fill(2)]);
    const cells = (r: number) => trials.filter((t) => t.repetition === r).map((t) => t.id.replace(/\/r\d+$/, ''));
    expect(new Set(cells(1))).toEqual(new Set(cells(2)));
    expect(cells(1)).not.toEqual(cells(2));
    // not the listed order
    const listed = expandTrials(parseCampaign(SWEEP + 'order:\n  kind: as-listed\n', 'sweep.yaml'));
    expect(listed.map((t) => t.id).slice(0, 3)).toEqual(['sweep/ramp/8MiB/bw32_dl100_xboff/r1', 'sweep/ramp/8MiB/bw32_dl100_xboff/r2', 'sweep/ramp/8MiB/bw32_dl100_xb64/r1']);
    expect(trials.map((t) => t.id)).not.toEqual(listed.map((t) => t.id));
    expect(trials.map((t) => t.index)).toEqual(trials.map((_, i) => i));
  });

  it('is the same order on every expansion and from any place in it (a workflow resumes mid-plan); another seed, another order', () => {
    const plan = campaignPlan(spec);
    expect(expandTrials(parseCampaign(SWEEP, 'again.yaml')).map((t) => t.id)).toEqual(trials.map((t) => t.id));
    for (const from of [0, 1, 23, 24, 25, 47]) expect([...plannedTrials(plan, from)].map((t) => t.id)).toEqual(trials.slice(from).map((t) => t.id));
    expect([...plannedTrials(plan, 48)]).toEqual([]);
    const other = expandTrials(parseCampaign(SWEEP + 'order:\n  seed: 7\n', 'sweep.yaml'));
    expect(other.map((t) => t.id)).not.toEqual(trials.map((t) => t.id));
    expect(new Set(other.map((t) => t.id))).toEqual(new Set(trials.map((t) => t.id)));
  });

  it('shuffles fairly: every position equally likely over many seeds (each of 4 items in each place 25 % ± 3 %)', () => {
    const counts = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
    for (let s = 0; s < 8000; s++) shuffled(4, s * 2654435761).forEach((item, place) => counts[item]![place]!++);
    for (const row of counts) for (const c of row) expect(Math.abs(c / 8000 - 0.25)).toBeLessThan(0.03);
  });

  it('runs only the combinations listed, each labelled by what it states', () => {
    const text = SWEEP.replace(/factors:[\s\S]*?migration:/, 'combinations:\n  - {}\n  - xbzrle: 32\n  - multifd: { channels: 4, compression: zstd }\n  - autoConverge: { initialThrottle: 30, increment: 5, tailslow: true }\nmigration:');
    const t = expandTrials(parseCampaign(text, 'sweep.yaml'));
    expect(t).toHaveLength(3 * 4 * 2);
    expect(new Set(t.map((x) => parseTrialId(x.id).levels))).toEqual(new Set(['base', 'xb32', 'mfd4zstd', 'ac30-5-ts']));
  });

  it('runs QEMU and libvirt pairs side by side: the hypervisor is a factor like any other, named first in the ids', () => {
    const text = SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, libvirt]').replace('factors:\n', 'factors:\n  hypervisor: [qemu, libvirt]\n');
    const spec = parseCampaign(text, 'sweep.yaml');
    const t = expandTrials(spec);
    expect(t).toHaveLength(2 * 3 * 8 * 2);
    expect(t.filter((x) => x.levels?.hypervisor === 'libvirt')).toHaveLength(t.length / 2);
    expect(new Set(t.map((x) => parseTrialId(x.id).levels!.split('_')[0]))).toEqual(new Set(['qemu', 'libvirt']));
    expect(parseTrialId(t.find((x) => x.levels?.hypervisor === 'libvirt' && x.levels.xbzrle === 64 && x.levels.bandwidthMiBps === 32 && x.levels.downtimeLimitMs === 100)!.id).levels).toBe('libvirt_bw32_dl100_xb64');
    expect(lanePairs(spec, ['hosta', 'hostb', 'hostc', 'hostd'])).toEqual([{ src: 'hosta', dst: 'hostb', hypervisor: 'qemu' }, { src: 'hostc', dst: 'hostd', hypervisor: 'libvirt' }]);
    const kindOf = hostKind(lanePairs(spec, ['hosta', 'hostb', 'hostc', 'hostd', 'hoste']), spec.hypervisor);
    expect(['hosta', 'hostd', 'hoste'].map(kindOf)).toEqual(['qemu', 'libvirt', 'qemu']); // hoste in no pair: the campaign's
    expect(manifestOf(spec).hypervisor).toBe('qemu+libvirt');
  });

  it("a guestperf preset is its comparison's levels as factors, with the campaign's repetitions; a refusal of one of them points at the preset", () => {
    const text = SWEEP.replace(/factors:[\s\S]*?migration:/, 'preset: post-copy-iters\nmigration:');
    const t = expandTrials(parseCampaign(text, 'sweep.yaml'));
    expect(t).toHaveLength(3 * 4 * 2);
    expect(new Set(t.map((x) => parseTrialId(x.id).levels))).toEqual(new Set(['pc0', 'pc1', 'pc5', 'pc20']));
    // XBZRLE's cache as guestperf's share of RAM, rounded down to a power of two (256 MiB guest)
    expect(parseCampaign(SWEEP.replace(/factors:[\s\S]*?migration:/, 'preset: compr-xbzrle\nmigration:'), 'sweep.yaml').factors?.xbzrle).toEqual([8, 16, 32, 128]);
    // beside factors of its own
    expect(parseCampaign(SWEEP.replace('  xbzrle: [off, 64]\n', '').replace('factors:', 'preset: compr-multifd\nfactors:'), 'sweep.yaml').factors).toMatchObject({ bandwidthMiBps: [32, 112], multifd: [{ channels: 4 }, { channels: 8 }, { channels: 32 }, { channels: 64 }] });
    expect(refuseIn(text, 'sweep.yaml', [{ path: ['factors', 'postcopy', 2], message: 'no' }]).message).toMatch(/sweep\.yaml:10:9: factors\.postcopy\[2\]: no/);
  });

  it('the workload as a factor: its rate and pattern vary the dirtier; a scenario without one runs each other combination once', () => {
    const text = SWEEP.replace('    workingSetsMiB: [8, 16, 32]\n', '    workingSetsMiB: [8]\n  - name: baseline\n    kind: baseline\n').replace('  bandwidthMiBps: [32, 112]\n  downtimeLimitMs: [100, 300]\n', '  dirtyRateMiBps: [max, 64]\n  pattern: [seq, random]\n');
    const t = expandTrials(parseCampaign(text, 'sweep.yaml'));
    const ramp = t.filter((x) => x.scenario === 'ramp');
    const idle = t.filter((x) => x.scenario === 'baseline');
    expect(ramp).toHaveLength(8 * 2);
    expect(idle).toHaveLength(2 * 2);
    expect(new Set(idle.map((x) => parseTrialId(x.id).levels))).toEqual(new Set(['xboff', 'xb64']));
    expect(ramp.find((x) => parseTrialId(x.id).levels === 'dr64_prand_xb64')!.workload).toEqual({ workingSetMiB: 8, rate: 64, pattern: 'random' });
    expect(new Set(t.map((x) => x.id)).size).toBe(t.length);
    expect(trialCount(campaignPlan(parseCampaign(text, 'sweep.yaml')))).toBe(t.length);
  });

  it('labels the VM\'s size and a pause before switchover, each in a few characters', () => {
    expect(fullFactorial({ memoryMiB: [256, 1024], vcpus: [2], pauseBeforeSwitchover: [false, true] }).map(levelsLabel)).toEqual(['mem256_cpu2_pbsoff', 'mem256_cpu2_pbs', 'mem1024_cpu2_pbsoff', 'mem1024_cpu2_pbs']);
    expect(fullFactorial({ pause: ['off', { afterPasses: 5 }] }).map(levelsLabel)).toEqual(['pauseoff', 'pause5']);
    const base = { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 };
    expect(migrationWith(base, { pauseBeforeSwitchover: true, memoryMiB: 512 }).tuning).toEqual({ pauseBeforeSwitchover: true });
    expect(migrationCapabilities({ pauseBeforeSwitchover: true }, { postcopy: false, pauseBeforeSwitchover: true }).find((c) => c.capability === 'pause-before-switchover')).toEqual({ capability: 'pause-before-switchover', state: true });
  });

  it('puts a level in place of the campaign setting it varies, and leaves the rest', () => {
    const base = { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 };
    expect(migrationWith(base, { bandwidthMiBps: 32, xbzrle: 64 })).toEqual({ ...base, maxBandwidth: 32 * 2 ** 20, tuning: { xbzrleCacheMiB: 64 } });
    expect(migrationWith(base, { downtimeLimitMs: 100, multifd: 'off', xbzrle: 'off' })).toEqual({ ...base, downtimeLimitMs: 100, tuning: { multifd: null, xbzrleCacheMiB: null } });
    expect(fullFactorial({ xbzrle: ['off', 8], multifd: [{ channels: 2, compression: 'none' }] }).map(levelsLabel)).toEqual(['xboff_mfd2', 'xb8_mfd2']);
  });
});

describe('factor levels refused before anything starts (file:line:col and the fix)', () => {
  const cases: [string, string, RegExp][] = [
    ['xl cannot vary a migration setting', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: xen').replace('migration:\n  bandwidthMiBps: 112\n', 'migration:\n  completionTimeoutSPerGiB: 800\n'), /sweep\.yaml:12:3: factors\.bandwidthMiBps: xl sets no bandwidth cap[\s\S]*fix: remove the factor for hypervisor: xen/],
    ['a level listed twice', SWEEP.replace('xbzrle: [off, 64]', 'xbzrle: [64, off, 64]'), /sweep\.yaml:13:21: factors\.xbzrle\[2\]: level xb64 is listed twice/],
    ['factors and combinations both', SWEEP.replace('migration:', 'combinations:\n  - xbzrle: 8\nmigration:'), /combinations: both factors and combinations are given/],
    ['a seed for a listed order', SWEEP + 'order:\n  kind: as-listed\n  seed: 4\n', /order\.seed: a seed orders nothing when trials run as listed/],
    ['a limit the ladder would lower', SWEEP.replace('[100, 300]', '[100, 1500]') + 'ladder:\n  - step: raise-downtime\n    downtimeLimitMs: 1000\n', /factors\.downtimeLimitMs\[1\]: a downtime limit of 1500 ms is not below the ladder's first raise \(1000 ms\)/],
    ['an auto-converge limit virsh cannot set', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: libvirt').replace('xbzrle: [off, 64]', 'autoConverge: [off, { maxThrottle: 50 }]'), /factors\.autoConverge\[1\]: virsh migrate sets no maximum throttle or tailslow/],
    ['a combination without a cap when the campaign has none', SWEEP.replace(/factors:[\s\S]*$/, 'combinations:\n  - bandwidthMiBps: 32\n  - xbzrle: 8\nmigration:\n  downtimeLimitMs: 300\n'), /combinations\[1\]: states no bandwidthMiBps/],
    ['a bandwidth level too low for the completion timeout', SWEEP.replace('[32, 112]', '[0.01, 112]'), /factors\.bandwidthMiBps\[0\]: at 0\.01 MiB\/s one pass/],
    ['VM reuse through the Xen backend', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: xen').replace('  memoryMiB: 256\n', '  memoryMiB: 256\n  reuse: ping-pong\n'), /sweep\.yaml:6:10: vm\.reuse: the Xen backend boots a domain for every trial[\s\S]*fix: remove vm\.reuse, or run the campaign with hypervisor: qemu or libvirt/],
    ['a migration-setting factor beside Xen pairs', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, xen]').replace('factors:\n', 'factors:\n  hypervisor: [qemu, xen]\n'), /sweep\.yaml:15:3: factors\.bandwidthMiBps: xl sets no bandwidth cap: Xen migrates with its own fixed settings, and a factor varies every hypervisor's trials[\s\S]*fix: list combinations instead, stating hypervisor: for each/],
    ['a Xen combination that sets what xl cannot', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, xen]').replace(/factors:[\s\S]*?migration:/, 'combinations:\n  - { hypervisor: qemu, xbzrle: 64 }\n  - { hypervisor: xen, downtimeLimitMs: 100 }\nmigration:'), /sweep\.yaml:\d+:\d+: combinations\[1\]\.downtimeLimitMs: xl sets no downtime limit[\s\S]*fix: remove it from this Xen combination/],
    ['a disk beside Xen pairs', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, xen]').replace('  memoryMiB: 256\n', '  memoryMiB: 256\n  disk: { storage: shared }\n').replace(/factors:[\s\S]*?migration:/, 'factors:\n  hypervisor: [qemu, xen]\nmigration:'), /vm\.disk: disks are supported with QEMU and libvirt, not yet with xl[\s\S]*fix: remove vm\.disk, or run the Xen pairs in a campaign of their own/],
    ['a hypervisor level no pair runs', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, libvirt]').replace('factors:\n', 'factors:\n  hypervisor: [qemu, libvirt, xen]\n'), /factors\.hypervisor\[2\]: no pair runs xen: its trials would have nowhere to run/],
    ['a pair whose kind no trial runs', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, libvirt]'), /sweep\.yaml:5:\d+: pairs\[1\]\[2\]: this pair runs libvirt, but no trial runs on libvirt: it would stand idle[\s\S]*fix: add factors: \{ hypervisor: \[qemu, libvirt\] \}/],
    ['a level with no pair of its kind', SWEEP.replace('factors:\n', 'factors:\n  hypervisor: [qemu, libvirt]\n'), /factors\.hypervisor\[1\]: no pair runs libvirt: its trials would have nowhere to run/],
    ['a host in pairs of two kinds', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, libvirt]').replace('[hostc, hostd, libvirt]', '[hostb, hostd, libvirt]').replace('factors:\n', 'factors:\n  hypervisor: [qemu, libvirt]\n'), /pairs\[1\]\[0\]: host "hostb" is in a qemu pair and in this libvirt pair/],
    ['a combination without a hypervisor when the pairs run two', SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, libvirt]').replace(/factors:[\s\S]*?migration:/, 'combinations:\n  - hypervisor: qemu\n  - xbzrle: 8\nmigration:'), /combinations\[1\]: states no hypervisor, and the campaign's pairs run qemu and libvirt/],
    ['a post-copy level beside the ladder\'s post-copy rung', SWEEP.replace('xbzrle: [off, 64]', 'postcopy: [off, { afterPasses: 2 }]') + 'ladder:\n  - step: postcopy\n', /factors\.postcopy\[1\]: the ladder's post-copy rung \(ladder\[0\]\) already permits post-copy/],
    ['a post-copy level with a local disk', SWEEP.replace('  memoryMiB: 256\n', '  memoryMiB: 256\n  disk: { storage: local }\n').replace('xbzrle: [off, 64]', 'postcopy: [off, { afterPasses: 2 }]'), /factors\.postcopy\[1\]: post-copy cannot move a local disk/],
    ['a working set the smallest VM of a memory factor cannot hold', SWEEP.replace('factors:\n', 'factors:\n  memoryMiB: [64, 256]\n'), /sweep\.yaml:8:29: scenarios\[0\]\.workingSetsMiB\[2\]: working set 32 MiB does not fit the 64 MiB VM/],
    ['a reused VM with a memory factor', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: libvirt').replace('  memoryMiB: 256\n', '  memoryMiB: 256\n  reuse: ping-pong\n').replace('factors:\n', 'factors:\n  memoryMiB: [256, 512]\n'), /vm\.reuse: a reused VM keeps its size, but the campaign varies memoryMiB/],
    ['pausing before switchover through virsh', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: libvirt').replace('xbzrle: [off, 64]', 'pauseBeforeSwitchover: [false, true]'), /factors\.pauseBeforeSwitchover\[1\]: virsh migrate has no option to pause before switchover/],
    ['a preset guestperf has but miglab does not offer', SWEEP.replace('factors:', 'preset: compr-mt\nfactors:'), /sweep\.yaml:10:9: preset: guestperf's compr-mt is not offered: QEMU's multi-threaded compression[\s\S]*fix: use one of: pause-iters, post-copy-bandwidth/],
    ['pausing the guest and post-copy in one trial', SWEEP.replace('xbzrle: [off, 64]', 'pause: [off, { afterPasses: 1 }]\n  postcopy: [off, { afterPasses: 2 }]'), /factors\.pause: pausing the guest and post-copy in one trial/],
    ['pausing the guest through libvirt', SWEEP.replace('bed: lab', 'bed: lab\nhypervisor: libvirt').replace('xbzrle: [off, 64]', 'pause: [off, { afterPasses: 1 }]'), /factors\.pause\[1\]: miglab pauses a migrating guest through QMP/],
    ['a preset and a factor of its own for the same setting', SWEEP.replace('factors:', 'preset: compr-xbzrle\nfactors:'), /factors\.xbzrle: preset compr-xbzrle sets this factor's levels already/],
    ['a workload factor with no dirtier to vary', SWEEP.replace('    kind: dirty-ramp\n    workingSetsMiB: [8, 16, 32]\n', '    kind: baseline\n').replace('xbzrle: [off, 64]', 'pattern: [seq, random]'), /factors\.pattern\[0\]: pattern varies the dirtier, and no scenario runs one/],
    ['an unknown factor', SWEEP.replace('xbzrle: [off, 64]', 'compress: [on]'), /factors: unknown field "compress"|Unrecognized key|compress/],
  ];
  for (const [what, text, expected] of cases) it(what, () => expect(problemsOf(text)).toMatch(expected));

  it('Xen pairs beside QEMU pairs: the cap, the limit and the ladder are the QEMU pairs\' (accepted); a Xen combination states only its hypervisor', () => {
    const mixed = SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, xen]').replace(/factors:[\s\S]*?migration:/, 'combinations:\n  - { hypervisor: qemu, xbzrle: 64 }\n  - { hypervisor: qemu, xbzrle: off }\n  - { hypervisor: xen }\nmigration:\n  downtimeLimitMs: 300') + 'ladder:\n  - step: raise-downtime\n    downtimeLimitMs: 1000\n';
    const spec = parseCampaign(mixed, 'sweep.yaml');
    const trials = expandTrials(spec);
    expect(trials.filter((t) => t.levels?.hypervisor === 'xen').map((t) => t.levels)).toEqual(Array(6).fill({ hypervisor: 'xen' }));
    expect(trials.filter((t) => t.levels?.hypervisor === 'qemu')).toHaveLength(12);
    expect(problemsOf(SWEEP.replace('bed: lab', 'bed: lab\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd, xen]').replace(/factors:[\s\S]*?migration:/, 'factors:\n  hypervisor: [qemu, xen]\nmigration:'))).toBe('accepted');
  });

  it('every level the hosts are asked about: each tuning level alone, then each combination of two or more', () => {
    const text = SWEEP.replace('xbzrle: [off, 64]', 'xbzrle: [off, 64]\n  multifd: [off, { channels: 2, compression: zstd }]');
    const checks = tuningChecks(parseCampaign(text, 'sweep.yaml'));
    expect(checks.map((c) => [c.label, c.path.join('.')])).toEqual([
      ['xb64', 'factors.xbzrle.1'],
      ['mfd2zstd', 'factors.multifd.1'],
      ['xb64_mfd2zstd', 'factors'],
    ]);
    expect(tuningChecks(parseCampaign(SWEEP.replace('  xbzrle: [off, 64]\n', ''), 'sweep.yaml'))).toEqual([]);
  });
});

describe('levels as the hypervisors take them', () => {
  const tuning = { xbzrleCacheMiB: 64, multifd: { channels: 4, compression: 'zstd' as const }, autoConverge: { initialThrottle: 30, increment: 5, maxThrottle: 80, tailslow: true } };

  it('QMP: every capability set on or off (an attempt never inherits the last one\'s), parameters in bytes', () => {
    expect(migrationCapabilities(tuning, { postcopy: false, pauseBeforeSwitchover: false })).toEqual([
      { capability: 'auto-converge', state: true },
      { capability: 'postcopy-ram', state: false },
      { capability: 'pause-before-switchover', state: false },
      { capability: 'xbzrle', state: true },
      { capability: 'multifd', state: true },
    ]);
    expect(migrationCapabilities(undefined, { postcopy: true, pauseBeforeSwitchover: false }).filter((c) => c.state)).toEqual([{ capability: 'postcopy-ram', state: true }]);
    expect(migrationParameters(tuning, {})).toEqual({ 'cpu-throttle-initial': 30, 'cpu-throttle-increment': 5, 'max-cpu-throttle': 80, 'cpu-throttle-tailslow': true, 'xbzrle-cache-size': 64 * 2 ** 20, 'multifd-channels': 4, 'multifd-compression': 'zstd' });
    // the ladder's auto-converge rung wins over the level's
    expect(migrationParameters(tuning, { autoConverge: { initialThrottle: 20, increment: 10 } })).toMatchObject({ 'cpu-throttle-initial': 20, 'cpu-throttle-increment': 10 });
    expect(migrationParameters(tuning, { autoConverge: { initialThrottle: 20, increment: 10 } })).not.toHaveProperty('max-cpu-throttle');
    // the destination needs multifd's capability and channels before it listens
    expect(incomingSettings(tuning, false)).toEqual({ capabilities: [{ capability: 'postcopy-ram', state: false }, { capability: 'multifd', state: true }], parameters: { 'multifd-channels': 4, 'multifd-compression': 'zstd' } });
  });

  it('virsh: xbzrle and zstd as compression methods, the cache in bytes, multifd as parallel connections', () => {
    expect(virshTuningArgs({ ...tuning, autoConverge: null }, null)).toEqual(['--compressed', '--comp-methods', 'xbzrle,zstd', '--comp-xbzrle-cache', 64 * 2 ** 20, '--parallel', '--parallel-connections', 4]);
    expect(virshTuningArgs({ autoConverge: { initialThrottle: 30, increment: 5, maxThrottle: 99, tailslow: false } }, null)).toEqual(['--auto-converge', '--auto-converge-initial', 30, '--auto-converge-increment', 5]);
    expect(virshTuningArgs(undefined, null)).toEqual([]);
  });

  it('post-copy as a level: permitted from the first attempt, switched after its passes, at its own cap', () => {
    const postcopy = { afterPasses: 5, bandwidthMiBps: 37 };
    const base = { maxBandwidth: 112 * 2 ** 20, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stallIterations: 10 };
    const m = migrationWith(base, { postcopy });
    expect(m.tuning).toEqual({ postcopy: { afterPasses: 5, bandwidthMiBps: 37 } });
    const [first, rung] = planAttempts(m, [{ step: 'raise-downtime', downtimeLimitMs: 1000 }]);
    expect(first).toMatchObject({ name: 'precopy', postcopy: true, postcopyAfterPasses: 5 });
    expect(rung).toMatchObject({ postcopy: true, postcopyAfterPasses: 5 });
    expect(planAttempts(migrationWith(base, { postcopy: 'off' }), [])[0]).toMatchObject({ postcopy: false });
    expect(migrationParameters(m.tuning, {})).toEqual({ 'max-postcopy-bandwidth': 37 * 2 ** 20 });
    expect(virshTuningArgs(m.tuning, null)).toEqual(['--postcopy-bandwidth', 37]);
    expect(levelsLabel({ postcopy })).toBe('pc5-bw37');
    expect(levelsLabel({ postcopy: { afterPasses: 0 } })).toBe('pc0');
    // the model switches after the level's passes too
    const guest = { memoryMiB: 256, nonZeroMiB: 120, workload: { workingSetMiB: 64, writeRateMiBps: 400, pattern: 'seq' as const }, idleDirtyMiBps: 0.1 };
    const rules = { hypervisor: 'qemu' as const, stallIterations: 10, completionTimeoutSPerGiB: 800, fallback: 'offline' as const };
    const at = (k: number) => predictTrial(guest, { bandwidthMiBps: 112, source: 'cap' }, planAttempts(migrationWith(base, { postcopy: { afterPasses: k } }), []), rules).attempts[0]!;
    expect(at(1)).toMatchObject({ end: 'converged' });
    expect(at(1).passes).toHaveLength(1);
    expect(at(3).passes).toHaveLength(3);
    // paused after 2 passes: what the second dirtied goes at the cap with the guest stopped
    const paused = predictTrial(guest, { bandwidthMiBps: 112, source: 'cap' }, planAttempts(migrationWith(base, { pause: { afterPasses: 2 } }), []), rules).attempts[0]!;
    expect(paused).toMatchObject({ end: 'converged' });
    expect(paused.passes).toHaveLength(2);
    expect(paused.dtMs!).toBeGreaterThan((paused.passes[1]!.dirtiedMiB / 112) * 1000);
  });

  it("the pre-flight check reads a QEMU's answers: a compression it was not built with is refused with its words (answers recorded from Debian's QEMU 7.2, asked for lz4, which it lacks)", () => {
    const checks = [
      { label: 'xb64', tuning: { xbzrleCacheMiB: 64 }, postcopy: false },
      { label: 'mfd2lz4', tuning: { multifd: { channels: 2, compression: 'zstd' as const } }, postcopy: false },
    ];
    const script = tuningProbeScript('qemu-system-x86_64', checks);
    expect(script).toMatch(/^printf '%s\\n' '\{"execute":"qmp_capabilities"\}' /);
    expect(script).toMatch(/\| timeout 30 qemu-system-x86_64 -M none -nodefaults -display none -qmp stdio$/);
    const answers = [
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
      '{"return": {}}', '{"return": {}}', '{"return": {}}', '{"return": {}}',
      '{"error": {"class": "GenericError", "desc": "Parameter \'multifd-compression\' does not accept value \'lz4\'"}}',
      '{"timestamp": {"seconds": 1796133856, "microseconds": 435702}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}',
      '{"return": {}}',
    ].join('\n');
    expect(tuningProbeRefusals(checks, answers)).toEqual([{ label: 'mfd2lz4', reason: "Parameter 'multifd-compression' does not accept value 'lz4'" }]);
    expect(() => tuningProbeRefusals(checks, 'qemu-system-x86_64: command not found')).toThrow(/QEMU answered 0 of 6 commands/);
  });
});
