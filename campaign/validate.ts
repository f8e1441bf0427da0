/** Rules that span fields: references between hosts and pairs, sizes against memory, names. */
import type { CampaignSpec, Hypervisor } from './spec.js';
import { hypervisorsOf, onlyXen } from './pairs.js';
import { FACTOR_KEYS, levelsLabel, levelText, type FactorKey, type Levels } from '../workflows/campaign-plan.js';

export interface SpecProblem {
  path: (string | number)[];
  message: string;
  fix?: string;
  /** point at the field's name (an unknown field) rather than its value */
  atKey?: boolean;
}

/** Memory the guest's own kernel and init need besides a workload's working set. */
export const GUEST_OVERHEAD_MIB = 48;
/** What the Debian disk guest keeps for itself (systemd, sshd, its page cache) before a service's key set. */
export const DISK_GUEST_OWN_MIB = 128;

export function crossCheck(spec: CampaignSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  // a memory factor's levels: the smallest VM must hold the workloads, the hosts the largest
  const vmSizes = memoryLevels(spec);
  const vmSmallest = Math.min(...vmSizes);
  const vmLargest = Math.max(...vmSizes);
  if (!spec.bed && !spec.hosts) {
    problems.push({ path: [], message: 'neither "bed" nor "hosts" is given', fix: 'add `bed: lab` to run on the local test bed, or list `hosts:`' });
  }
  if (spec.bed && spec.hosts) {
    problems.push({ path: ['hosts'], message: '"bed" and "hosts" are both given', fix: 'keep one: a bed brings its own hosts' });
  }

  if (spec.hosts && !spec.vm.guest) {
    problems.push({ path: ['vm', 'guest'], message: 'a campaign on its own hosts must say which guest to boot', fix: 'add vm.guest: kernel, initrd (paths on the hosts), addresses, key, knownHosts' });
  }
  if (spec.bed && spec.vm.guest) {
    problems.push({ path: ['vm', 'guest'], message: 'a bed brings its own guest', fix: 'remove vm.guest, or list hosts: instead of bed:' });
  }
  if (spec.bed && spec.probe.interface) {
    problems.push({ path: ['probe', 'interface'], message: "a bed's probe always leaves by the bed's own interface", fix: 'remove probe.interface' });
  }
  const lanes = spec.pairs?.length ?? 1;
  if (spec.vm.guest && spec.vm.guest.addresses.length < lanes) {
    problems.push({ path: ['vm', 'guest', 'addresses'], message: `${lanes} host pairs run side by side but ${spec.vm.guest.addresses.length} guest address${spec.vm.guest.addresses.length === 1 ? ' is' : 'es are'} given`, fix: 'give one address per pair' });
  }
  const runDirs = new Map<string, string>();
  spec.hosts?.forEach((h, i) => {
    // Hosts on one machine (or sharing storage) would clobber each other's sockets in one run dir.
    const other = runDirs.get(`${h.address} ${h.runDir}`);
    if (other) problems.push({ path: ['hosts', i, 'runDir'], message: `host "${h.name}" shares address and runDir with "${other}"`, fix: 'give it a runDir of its own' });
    runDirs.set(`${h.address} ${h.runDir}`, h.name);
  });

  const hostNames = new Set<string>();
  spec.hosts?.forEach((h, i) => {
    if (hostNames.has(h.name)) problems.push({ path: ['hosts', i, 'name'], message: `host "${h.name}" is listed twice`, fix: 'give every host a different name' });
    hostNames.add(h.name);
    if (h.memoryMiB !== undefined && vmLargest > h.memoryMiB) {
      problems.push({
        path: ['vm', 'memoryMiB'],
        message: `the VM (${vmLargest} MiB) is larger than host "${h.name}" can hold (${h.memoryMiB} MiB)`,
        fix: `lower vm.memoryMiB to at most ${h.memoryMiB}`,
      });
    }
  });

  spec.pairs?.forEach(([src, dst], i) => {
    for (const [j, h] of [src, dst].entries()) {
      if (spec.hosts && !hostNames.has(h)) {
        problems.push({ path: ['pairs', i, j], message: `unknown host "${h}"`, fix: `use one of: ${[...hostNames].join(', ')}` });
      }
    }
    if (src === dst) problems.push({ path: ['pairs', i], message: `pair migrates "${src}" to itself`, fix: 'pair two different hosts' });
  });
  problems.push(...hypervisorProblems(spec));
  // every trial runs on Xen, or only those of the campaign's Xen pairs (beside QEMU or libvirt pairs)
  const allXen = onlyXen(spec);
  const anyXen = hypervisorsOf(spec).includes('xen');

  const scenarioNames = new Set<string>();
  spec.scenarios.forEach((s, i) => {
    if (scenarioNames.has(s.name)) problems.push({ path: ['scenarios', i, 'name'], message: `scenario "${s.name}" is listed twice`, fix: 'give every scenario a different name' });
    scenarioNames.add(s.name);
    if (s.kind === 'service') {
      if (anyXen) problems.push({ path: ['scenarios', i, 'kind'], message: 'service scenarios run in the Debian disk guest, which xl does not run yet', fix: allXen ? 'set hypervisor: qemu or libvirt' : 'run the Xen pairs in a campaign of their own' });
      else if (!spec.vm.disk) problems.push({ path: ['scenarios', i, 'kind'], message: `${s.service} runs in a guest booted from a disk (on a bed, the Debian guest setup builds, which has it)`, fix: 'add vm.disk: { storage: shared }' });
      const room = vmSmallest - DISK_GUEST_OWN_MIB;
      const seenKeys = new Set<number>();
      s.keySetsMiB.forEach((mib, j) => {
        // the service's own overhead on its values: memcached's limit is set to 1.5 × the key set + 16 MiB
        const need = Math.ceil(mib * 1.5) + 16;
        if (need > room) problems.push({ path: ['scenarios', i, 'keySetsMiB', j], message: `a ${mib} MiB key set takes about ${need} MiB in ${s.service}, more than the ${room} MiB the ${vmSmallest} MiB VM has beside the Debian guest's own ${DISK_GUEST_OWN_MIB} MiB`, fix: `use at most ${Math.floor((room - 16) / 1.5)} MiB, or raise vm.memoryMiB to ${need + DISK_GUEST_OWN_MIB}` });
        if (seenKeys.has(mib)) problems.push({ path: ['scenarios', i, 'keySetsMiB', j], message: `key set ${mib} MiB is listed twice`, fix: 'list each size once; use repetitions for repeats' });
        seenKeys.add(mib);
        if (mib * 2 ** 20 < s.valueBytes) problems.push({ path: ['scenarios', i, 'keySetsMiB', j], message: `a ${mib} MiB key set holds not one ${s.valueBytes}-byte value`, fix: 'use a larger key set or smaller values' });
      });
      return;
    }
    if (s.kind !== 'dirty-ramp') return;
    const room = vmSmallest - GUEST_OVERHEAD_MIB;
    s.workingSetsMiB.forEach((mib, j) => {
      if (mib > room) {
        problems.push({
          path: ['scenarios', i, 'workingSetsMiB', j],
          message: `working set ${mib} MiB does not fit the ${vmSmallest} MiB VM (${GUEST_OVERHEAD_MIB} MiB go to the guest itself)`,
          fix: `use at most ${room} MiB, or raise vm.memoryMiB to ${mib + GUEST_OVERHEAD_MIB}`,
        });
      }
    });
    const seen = new Set<number>();
    s.workingSetsMiB.forEach((mib, j) => {
      if (seen.has(mib)) problems.push({ path: ['scenarios', i, 'workingSetsMiB', j], message: `working set ${mib} MiB is listed twice`, fix: 'list each size once; use repetitions for repeats' });
      seen.add(mib);
    });
  });

  // Settings xl has no say in: refused when every trial runs on Xen; beside QEMU or libvirt pairs
  // they apply to those pairs only (the Xen pairs' rows say they ran uncapped, without rungs).
  problems.push(...factorProblems(spec));
  const bwLevels = bandwidthLevels(spec);
  const bw = bwLevels.length ? Math.min(...bwLevels) : spec.migration.bandwidthMiBps;
  if (!allXen && bw === undefined) {
    problems.push({ path: ['migration', 'bandwidthMiBps'], message: 'missing (expected number)', fix: 'add migration.bandwidthMiBps: the bandwidth cap in MiB/s (112 is about 1 GbE)' });
  }
  if (allXen) {
    for (const key of ['accel', 'cpu'] as const) {
      if (spec.vm[key] !== undefined) problems.push({ path: ['vm', key], message: `vm.${key} applies to QEMU and libvirt guests: Xen runs its own guest types`, fix: `remove vm.${key} for hypervisor: xen`, atKey: true });
    }
  }
  if (spec.vm.reuse === 'ping-pong') {
    for (const key of ['memoryMiB', 'vcpus'] as const) {
      if (spec.factors?.[key] || spec.combinations?.some((c) => c[key] !== undefined)) problems.push({ path: ['vm', 'reuse'], message: `a reused VM keeps its size, but the campaign varies ${key}`, fix: `remove vm.reuse, or the ${key} levels` });
    }
  }
  if (spec.vm.reuse === 'ping-pong' && anyXen) {
    problems.push({
      path: ['vm', 'reuse'],
      message: 'the Xen backend boots a domain for every trial: ping-pong reuse is for QEMU and libvirt',
      fix: 'remove vm.reuse, or run the campaign with hypervisor: qemu or libvirt',
    });
  }
  const disk = spec.vm.disk;
  if (disk && anyXen) {
    problems.push({ path: ['vm', 'disk'], message: 'disks are supported with QEMU and libvirt, not yet with xl', fix: allXen ? 'remove vm.disk, or set hypervisor: qemu or libvirt' : 'remove vm.disk, or run the Xen pairs in a campaign of their own', atKey: true });
  }
  if (disk && spec.bed && disk.image !== undefined) {
    problems.push({ path: ['vm', 'disk', 'image'], message: "a bed's disk guest is the Debian image setup builds", fix: 'remove vm.disk.image (it names an image on your own hosts)', atKey: true });
  }
  if (disk && spec.hosts && disk.image === undefined) {
    problems.push({ path: ['vm', 'disk'], message: 'missing image: the disk image at the same path on every host', fix: 'add vm.disk.image, e.g. /srv/miglab/debian.qcow2', atKey: true });
  }
  if (disk?.storage === 'local') {
    spec.ladder.forEach((step, i) => {
      if (step.step === 'postcopy') problems.push({ path: ['ladder', i], message: 'post-copy cannot move a local disk: the disk copy must finish before the switchover', fix: 'remove the postcopy rung, or use vm.disk.storage: shared' });
    });
  }
  if (spec.vm.cpu === 'host' && spec.vm.accel === 'tcg') {
    problems.push({ path: ['vm', 'cpu'], message: 'CPU model host passes the host CPU through, which only KVM can', fix: 'name a model (qemu64 by default), or set vm.accel: kvm' });
  }
  if (allXen && spec.migration.bandwidthMiBps !== undefined) {
    problems.push({ path: ['migration', 'bandwidthMiBps'], message: "xl applies no bandwidth cap: Xen migrates as fast as it can", fix: 'remove migration.bandwidthMiBps for hypervisor: xen' });
  }

  const rungs = new Set<string>();
  let limit = spec.migration.downtimeLimitMs;
  spec.ladder.forEach((step, i) => {
    if (step.step !== 'raise-downtime' && rungs.has(step.step)) problems.push({ path: ['ladder', i, 'step'], message: `"${step.step}" appears twice in the ladder`, fix: 'keep one' });
    rungs.add(step.step);
    if (allXen) {
      const what = { 'raise-downtime': 'has no downtime limit to raise', 'auto-converge': 'has no auto-converge', postcopy: 'has no post-copy migration' }[step.step];
      problems.push({ path: ['ladder', i, 'step'], message: `xl ${what}: this rung cannot be honoured with hypervisor: xen`, fix: 'remove it (Xen forces its last pass after its own pass limit; `fallback: offline` still applies)' });
      return;
    }
    if (step.step === 'raise-downtime') {
      // each rung escalates from the one before it: a lower limit would undo an earlier rung
      if (step.downtimeLimitMs <= limit) {
        const before = limit === spec.migration.downtimeLimitMs ? 'already in force' : 'set by the rung before it';
        problems.push({ path: ['ladder', i, 'downtimeLimitMs'], message: `raises the downtime limit to ${step.downtimeLimitMs} ms, not above the ${limit} ms ${before}`, fix: `use more than ${limit}` });
      }
      limit = Math.max(limit, step.downtimeLimitMs);
    }
  });

  // A migration must send at least what the guest keeps in use in one pass; if that cannot happen
  // before the completion timeout, every live attempt is aborted before its first pass ends.
  if (bw !== undefined) {
    const timeoutS = (spec.migration.completionTimeoutSPerGiB * vmSmallest) / 1024;
    const largest = Math.max(0, ...spec.scenarios.flatMap((s) => (s.kind === 'dirty-ramp' ? s.workingSetsMiB : s.kind === 'service' ? s.keySetsMiB : [])));
    const minMiB = GUEST_OVERHEAD_MIB + largest;
    const passS = minMiB / bw;
    if (passS > timeoutS) {
      const r = (x: number) => Number(x.toPrecision(3));
      problems.push({
        path: bwLevels.length && spec.factors?.bandwidthMiBps ? ['factors', 'bandwidthMiBps', spec.factors.bandwidthMiBps.indexOf(bw)] : ['migration', 'bandwidthMiBps'],
        message: `at ${bw} MiB/s one pass over the ${minMiB} MiB a guest keeps in use (${GUEST_OVERHEAD_MIB} MiB of its own${largest ? ` + a ${largest} MiB working set` : ''}) takes at least ${r(passS)} s, but the completion timeout (${spec.migration.completionTimeoutSPerGiB} s/GiB × ${r(vmSmallest / 1024)} GiB = ${r(timeoutS)} s) fires first: every live attempt would be aborted`,
        fix: `raise bandwidthMiBps above ${r(minMiB / timeoutS)}, or completionTimeoutSPerGiB above ${r((passS * 1024) / vmSmallest)}`,
      });
    }
  }
  return problems;
}

/** The VM sizes the campaign's trials run with: its memory factor's levels, every combination's, or vm.memoryMiB. */
function memoryLevels(spec: CampaignSpec): number[] {
  if (spec.factors?.memoryMiB) return spec.factors.memoryMiB;
  if (spec.combinations?.some((c) => c.memoryMiB !== undefined)) return spec.combinations.map((c) => c.memoryMiB ?? spec.vm.memoryMiB);
  return [spec.vm.memoryMiB];
}

/** The bandwidth caps the campaign's trials run with: its factor's levels, or every combination's (the campaign's own where one states none). */
function bandwidthLevels(spec: CampaignSpec): number[] {
  if (spec.factors?.bandwidthMiBps) return spec.factors.bandwidthMiBps;
  if (spec.combinations?.some((c) => c.bandwidthMiBps !== undefined)) {
    return spec.combinations.flatMap((c) => (c.bandwidthMiBps ?? spec.migration.bandwidthMiBps) ?? []);
  }
  return [];
}

/**
 * Pairs of several hypervisors (a pair's third element) and the hypervisor factor: each level
 * needs pairs of its kind to run on, each kind of pair a level to run (else it would stand idle),
 * a host one kind only.
 */
function hypervisorProblems(spec: CampaignSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const kinds = hypervisorsOf(spec);
  const levelPaths: { level: Hypervisor; path: (string | number)[] }[] = [
    ...(spec.factors?.hypervisor ?? []).map((level, j) => ({ level, path: ['factors', 'hypervisor', j] })),
    ...(spec.combinations ?? []).flatMap((c, i) => (c.hypervisor ? [{ level: c.hypervisor, path: ['combinations', i, 'hypervisor'] }] : [])),
  ];
  const varied = levelPaths.length > 0;
  for (const { level, path } of levelPaths) {
    if (!kinds.includes(level)) {
      problems.push({ path, message: `no pair runs ${level}: its trials would have nowhere to run`, fix: `add a pair with ${level} as its third element, e.g. [hostc, hostd, ${level}]` });
    }
  }
  if (spec.combinations && varied) {
    spec.combinations.forEach((c, i) => {
      if (!c.hypervisor && kinds.length > 1) problems.push({ path: ['combinations', i], message: `states no hypervisor, and the campaign's pairs run ${kinds.join(' and ')}`, fix: 'add hypervisor: to every combination' });
    });
  }
  const levels = new Set(levelPaths.map((l) => l.level));
  const owner = new Map<string, Hypervisor>();
  spec.pairs?.forEach((pair, i) => {
    const kind = pair[2] ?? spec.hypervisor;
    if (kinds.length > 1 && !levels.has(kind)) {
      problems.push({ path: pair[2] ? ['pairs', i, 2] : ['pairs', i], message: `this pair runs ${kind}, but no trial runs on ${kind}: it would stand idle`, fix: varied ? `add ${kind} to factors.hypervisor` : `add factors: { hypervisor: [${kinds.join(', ')}] } to run every trial on each kind` });
    }
    for (const [j, h] of [pair[0], pair[1]].entries()) {
      const other = owner.get(h);
      if (other && other !== kind) problems.push({ path: ['pairs', i, j], message: `host "${h}" is in a ${other} pair and in this ${kind} pair: one host runs one hypervisor in a campaign`, fix: 'pair other hosts for this kind (a bed takes more: `miglab lab up --hosts hosta,hostb,hostc,hostd`)' });
      owner.set(h, kind);
    }
  });
  return problems;
}

/** Factors and combinations: levels xl cannot honour, repeats, and levels at odds with the ladder. */
function factorProblems(spec: CampaignSpec): SpecProblem[] {
  const kinds = new Set(hypervisorsOf(spec));
  const problems: SpecProblem[] = [];
  const { factors, combinations } = spec;
  if (factors && combinations) problems.push({ path: ['combinations'], message: 'both factors and combinations are given', fix: 'keep factors (every combination of their levels runs) or combinations (only those listed run)', atKey: true });
  if (spec.order?.seed !== undefined && spec.order.kind === 'as-listed') problems.push({ path: ['order', 'seed'], message: 'a seed orders nothing when trials run as listed', fix: 'remove order.seed, or set order.kind: random', atKey: true });
  const xlSets = (key: string) => `xl sets no ${key === 'bandwidthMiBps' ? 'bandwidth cap' : key === 'downtimeLimitMs' ? 'downtime limit' : key}: Xen migrates with its own fixed settings`;
  if (onlyXen(spec)) {
    for (const key of Object.keys(factors ?? {})) problems.push({ path: ['factors', key], message: xlSets(key), fix: 'remove the factor for hypervisor: xen (vary the workload through scenarios instead)', atKey: true });
    if (combinations) problems.push({ path: ['combinations'], message: 'xl sets none of the migration settings a combination varies', fix: 'remove combinations for hypervisor: xen', atKey: true });
    return problems;
  }
  if (kinds.has('xen')) {
    // Beside QEMU or libvirt pairs, a factor would cross every level with the Xen trials too, which
    // would run each level alike; a combination states its hypervisor, so it can vary the others.
    for (const key of Object.keys(factors ?? {})) {
      if (key !== 'hypervisor') problems.push({ path: ['factors', key], message: `${xlSets(key)}, and a factor varies every hypervisor's trials`, fix: `list combinations instead, stating hypervisor: for each (a Xen combination states no other setting)`, atKey: true });
    }
    combinations?.forEach((c, i) => {
      if (c.hypervisor !== 'xen') return;
      for (const key of Object.keys(c)) if (key !== 'hypervisor') problems.push({ path: ['combinations', i, key], message: xlSets(key), fix: 'remove it from this Xen combination', atKey: true });
    });
  }
  if (factors) {
    for (const key of FACTOR_KEYS) {
      const levels = factors[key] as NonNullable<Levels[FactorKey]>[] | undefined;
      const seen = new Set<string>();
      levels?.forEach((l, j) => {
        const text = levelText(key, l);
        if (seen.has(text)) problems.push({ path: ['factors', key, j], message: `level ${text} is listed twice`, fix: 'list each level once; use repetitions for repeats' });
        seen.add(text);
      });
    }
  }
  const seenCombos = new Set<string>();
  combinations?.forEach((c, i) => {
    const label = levelsLabel(c);
    if (seenCombos.has(label)) problems.push({ path: ['combinations', i], message: `combination ${label} is listed twice`, fix: 'list each combination once; use repetitions for repeats' });
    seenCombos.add(label);
  });
  const levelsOf = <K extends FactorKey>(key: K): { level: NonNullable<Levels[K]>; path: (string | number)[] }[] => [
    ...((factors?.[key] as NonNullable<Levels[K]>[] | undefined) ?? []).map((level, j) => ({ level, path: ['factors', key, j] })),
    ...(combinations ?? []).flatMap((c, i) => (c[key] !== undefined ? [{ level: c[key] as NonNullable<Levels[K]>, path: ['combinations', i, key] }] : [])),
  ];
  if (kinds.has('libvirt')) {
    for (const { level, path } of levelsOf('autoConverge')) {
      if (level !== 'off' && (level.maxThrottle !== 99 || level.tailslow)) problems.push({ path, message: 'virsh migrate sets no maximum throttle or tailslow for auto-converge', fix: 'remove maxThrottle and tailslow for hypervisor: libvirt (or use hypervisor: qemu)' });
    }
    for (const { level, path } of levelsOf('pauseBeforeSwitchover')) {
      if (level) problems.push({ path, message: 'virsh migrate has no option to pause before switchover (libvirt uses the pause itself, for disks)', fix: 'remove the level for hypervisor: libvirt (or use hypervisor: qemu)' });
    }
    for (const { level, path } of levelsOf('pause')) {
      if (level !== 'off') problems.push({ path, message: "miglab pauses a migrating guest through QMP, which libvirt keeps to itself", fix: 'remove the level for hypervisor: libvirt (or use hypervisor: qemu)' });
    }
  }
  // a paused guest cannot also run on the destination by post-copy
  const pausing = (l: Levels) => l.pause !== undefined && l.pause !== 'off';
  const postcopying = (l: Levels) => l.postcopy !== undefined && l.postcopy !== 'off';
  if (factors?.pause?.some((l) => l !== 'off') && factors.postcopy?.some((l) => l !== 'off')) {
    problems.push({ path: ['factors', 'pause'], message: 'pausing the guest and post-copy in one trial: a paused guest cannot run on the destination meanwhile', fix: 'vary them in separate campaigns, or list the combinations you want', atKey: true });
  }
  combinations?.forEach((c, i) => {
    if (pausing(c) && postcopying(c)) problems.push({ path: ['combinations', i], message: 'pauses the guest and permits post-copy: a paused guest cannot run on the destination meanwhile', fix: 'keep one of pause and postcopy' });
  });
  if (!spec.scenarios.some((s) => s.kind === 'dirty-ramp')) {
    for (const key of ['dirtyRateMiBps', 'pattern'] as const) {
      for (const { path } of levelsOf(key)) problems.push({ path, message: `${key} varies the dirtier, and no scenario runs one (only dirty-ramp scenarios do)`, fix: 'add a dirty-ramp scenario, or remove the factor' });
    }
  }
  const postcopyRung = spec.ladder.findIndex((s) => s.step === 'postcopy');
  for (const { level, path } of levelsOf('postcopy')) {
    if (level === 'off') continue;
    if (spec.vm.disk?.storage === 'local') problems.push({ path, message: 'post-copy cannot move a local disk: the disk copy must finish before the switchover', fix: 'remove the post-copy level, or use vm.disk.storage: shared' });
    if (postcopyRung >= 0) problems.push({ path, message: `the ladder's post-copy rung (ladder[${postcopyRung}]) already permits post-copy, after one pass: the two would disagree on when to switch`, fix: 'keep the level (it permits post-copy from the first attempt) or the rung' });
  }
  // a raise-downtime rung must raise every limit a level sets
  const firstRaise = spec.ladder.find((s) => s.step === 'raise-downtime');
  if (firstRaise && firstRaise.step === 'raise-downtime') {
    for (const { level, path } of levelsOf('downtimeLimitMs')) {
      if (level >= firstRaise.downtimeLimitMs) problems.push({ path, message: `a downtime limit of ${level} ms is not below the ladder's first raise (${firstRaise.downtimeLimitMs} ms): the rung would lower it`, fix: `use levels below ${firstRaise.downtimeLimitMs}, or raise the rung` });
    }
  }
  if (spec.migration.bandwidthMiBps === undefined && combinations?.some((c) => c.bandwidthMiBps !== undefined)) {
    combinations.forEach((c, i) => {
      if (c.bandwidthMiBps === undefined) problems.push({ path: ['combinations', i], message: 'states no bandwidthMiBps, and the campaign has no migration.bandwidthMiBps for it to keep', fix: 'add bandwidthMiBps to this combination, or migration.bandwidthMiBps to the campaign' });
    });
  }
  // What a host's QEMU cannot do (a compression it was built without) is asked of it before the campaign starts (cli/tuning-check.ts).
  return problems;
}
