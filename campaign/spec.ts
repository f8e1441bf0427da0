/**
 * A campaign as plain data: where to migrate (a bed or explicit hosts), what VM, which scenarios
 * (the paper's baseline and dirty-memory ramp), how to migrate, and what to do when precopy
 * does not converge. The schema states shapes and ranges; cross-field rules live in validate.ts.
 */
import { z } from 'zod';

const NAME = /^[a-z][a-z0-9-]{0,30}$/;
const name = (what: string) =>
  z.string().regex(NAME, `${what} must be 1-31 lower-case letters, digits or dashes, starting with a letter`);

/** The hypervisor backends: QEMU driven directly (QMP), QEMU through libvirt (virsh), Xen (xl). */
export const hypervisorSchema = z.enum(['qemu', 'libvirt', 'xen']);

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export const hostSchema = z
  .object({
    name: name('a host name'),
    address: z.string().regex(IPV4, 'address must be an IPv4 address'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'user must be a plain login name').default('root'),
    /** private key file, relative to the campaign file */
    key: z.string().min(1),
    /** known_hosts file that must list this host's key */
    knownHosts: z.string().min(1),
    hypervisor: z.enum(['qemu', 'libvirt', 'xen']).optional(),
    /** memory the host can give a VM; a VM larger than this is refused before anything starts */
    memoryMiB: z.number().int().positive().optional(),
    /** the bridge the guest's tap joins on this host (the guest network) */
    bridge: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'bridge must be an interface name (1-15 letters, digits, _ . -)').default('br0'),
    /** where QEMU keeps this host's sockets, pid files and logs; hosts sharing a filesystem need different ones */
    runDir: z.string().regex(/^\/[A-Za-z0-9_.\/-]*$/, 'runDir must be an absolute path of plain characters').default('/var/lib/miglab/run'),
  })
  .strict();

const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([1-9]|[12]\d|3[0-2])$/;

/** The guest on a campaign's own hosts (a bed brings its own): image paths on every host, its addresses, how to log in. */
export const guestSchema = z
  .object({
    /** kernel and initramfs, at these paths on every host (e.g. the lab guest from scripts/setup.sh) */
    kernel: z.string().regex(/^\/[A-Za-z0-9_.\/-]*$/, 'kernel must be an absolute path on the hosts'),
    initrd: z.string().regex(/^\/[A-Za-z0-9_.\/-]*$/, 'initrd must be an absolute path on the hosts'),
    /** the guest's address with prefix, one per host pair (pairs run side by side) */
    addresses: z.array(z.string().regex(CIDR, 'each address must be IPv4 with a prefix, e.g. 10.0.0.50/24')).min(1),
    /** SSH key for root in the guest and the known_hosts that lists the guest's key (relative to the campaign file) */
    key: z.string().min(1),
    knownHosts: z.string().min(1),
  })
  .strict();

const baselineScenario = z.object({ name: name('a scenario name'), kind: z.literal('baseline') }).strict();

const dirtyRampScenario = z
  .object({
    name: name('a scenario name'),
    kind: z.literal('dirty-ramp'),
    workingSetsMiB: z.array(z.number().int().positive('working-set sizes must be positive')).min(1, 'list at least one working-set size'),
    /** MiB/s, or "max" to dirty as fast as the guest can */
    rate: z.union([z.literal('max'), z.number().positive('the dirty rate must be positive')]).default('max'),
    pattern: z.enum(['seq', 'random']).default('seq'),
  })
  .strict();

/**
 * A real service in the guest (the Debian guest's memcached or redis-server), loaded from the
 * controller at a fixed request rate while the VM moves: each trial loads a key set of one of the
 * listed sizes, and the load's SETs rewrite it in turn, so the service itself dirties memory.
 */
const serviceScenario = z
  .object({
    name: name('a scenario name'),
    kind: z.literal('service'),
    service: z.enum(['memcached', 'redis']),
    /** the key set's size, MiB of values: one trial per size */
    keySetsMiB: z.array(z.number().int().positive('key-set sizes must be positive')).min(1, 'list at least one key-set size'),
    valueBytes: z.number().int().min(64, 'values must be at least 64 bytes').max(512 * 1024, 'values must be at most 512 KiB (memcached\'s item limit is 1 MiB)').default(4096),
    /** requests per second, sent on schedule whatever the replies do (open loop) */
    requestsPerS: z.number().int().min(1).max(50_000).default(1000),
    /** the share of requests that are SETs (the rest are GETs) */
    setFraction: z.number().min(0).max(1).default(0.5),
    /** a request with no reply within this long counts as failed */
    timeoutMs: z.number().int().min(10).max(60_000).default(1000),
  })
  .strict();

export const scenarioSchema = z.discriminatedUnion('kind', [baselineScenario, dirtyRampScenario, serviceScenario]);

/** One rung of the escalation ladder, tried in order after default precopy fails to converge. */
export const ladderStepSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('raise-downtime'), downtimeLimitMs: z.number().int().positive().max(60_000) }).strict(),
  z.object({ step: z.literal('auto-converge'), initialThrottle: z.number().int().min(1).max(99).default(20), increment: z.number().int().min(1).max(99).default(10) }).strict(),
  z.object({ step: z.literal('postcopy') }).strict(),
]);

/** multifd: several parallel streams, optionally compressed (QEMU's multifd-channels, multifd-compression) */
const multifdLevel = z
  .object({
    channels: z.number().int().min(1).max(64),
    compression: z.enum(['none', 'zlib', 'zstd']).default('none'),
  })
  .strict();

/** auto-converge from the first attempt: throttle the vCPUs while precopy lags (QEMU's cpu-throttle-*) */
const autoConvergeLevel = z
  .object({
    initialThrottle: z.number().int().min(1).max(99).default(20),
    increment: z.number().int().min(1).max(99).default(10),
    /** at most this throttle, % (QEMU's max-cpu-throttle) */
    maxThrottle: z.number().int().min(1).max(99).default(99),
    /** raise the throttle only by what the lag needs once past the initial step (QEMU's cpu-throttle-tailslow) */
    tailslow: z.boolean().default(false),
  })
  .strict();

/**
 * post-copy permitted: precopy until it has made this many passes over memory, then switch (the
 * guest runs on the destination, which pulls the rest); optionally at its own bandwidth cap
 * (QEMU's max-postcopy-bandwidth, virsh's --postcopy-bandwidth)
 */
const postcopyLevel = z
  .object({
    afterPasses: z.number().int().min(0).max(1000).default(1),
    bandwidthMiBps: z.number().positive().max(100_000).optional(),
  })
  .strict();

const off = z.literal('off');

/**
 * The settings a campaign may vary, each a list of levels. Every level overrides the campaign's
 * own setting (migration.*) for the trials that run it.
 */
export const factorsSchema = z
  .object({
    /** the hypervisor the trial runs on: each level's trials run on the pairs of that kind */
    hypervisor: z.array(hypervisorSchema).min(1).optional(),
    /** the dirty-ramp workload's write rate and pattern (replace the scenarios' rate and pattern; other scenarios run once per remaining combination) */
    dirtyRateMiBps: z.array(z.union([z.literal('max'), z.number().positive('the dirty rate must be positive')])).min(1).optional(),
    pattern: z.array(z.enum(['seq', 'random'])).min(1).optional(),
    /** the VM's memory and vCPUs (replace vm.memoryMiB and vm.vcpus) */
    memoryMiB: z.array(z.number().int().min(64, 'the guest needs at least 64 MiB').max(1 << 20)).min(1).optional(),
    vcpus: z.array(z.number().int().min(1).max(64)).min(1).optional(),
    bandwidthMiBps: z.array(z.number().positive().max(100_000)).min(1).optional(),
    downtimeLimitMs: z.array(z.number().int().positive().max(60_000)).min(1).optional(),
    /** off, or XBZRLE on with a cache of this many MiB */
    xbzrle: z.array(z.union([off, z.number().int().min(1, 'the xbzrle cache must be at least 1 MiB').max(65_536)])).min(1).optional(),
    multifd: z.array(z.union([off, multifdLevel])).min(1).optional(),
    autoConverge: z.array(z.union([off, autoConvergeLevel])).min(1).optional(),
    postcopy: z.array(z.union([off, postcopyLevel])).min(1).optional(),
    /**
     * pause the guest once precopy has made this many passes, so the rest moves with the guest
     * stopped (guestperf's pause-iters): a bounded stop-and-copy after a live start
     */
    pause: z.array(z.union([off, z.object({ afterPasses: z.number().int().min(0).max(1000) }).strict()])).min(1).optional(),
    /** stop at the switchover until miglab says go on (QEMU's pause-before-switchover): what a manager's step there costs in downtime */
    pauseBeforeSwitchover: z.array(z.boolean()).min(1).optional(),
  })
  .strict();

/** One combination of levels: a factor it leaves out keeps the campaign's own setting. */
export const combinationSchema = z
  .object({
    hypervisor: hypervisorSchema.optional(),
    dirtyRateMiBps: z.union([z.literal('max'), z.number().positive()]).optional(),
    pattern: z.enum(['seq', 'random']).optional(),
    memoryMiB: z.number().int().min(64).max(1 << 20).optional(),
    vcpus: z.number().int().min(1).max(64).optional(),
    bandwidthMiBps: z.number().positive().max(100_000).optional(),
    downtimeLimitMs: z.number().int().positive().max(60_000).optional(),
    xbzrle: z.union([off, z.number().int().min(1).max(65_536)]).optional(),
    multifd: z.union([off, multifdLevel]).optional(),
    autoConverge: z.union([off, autoConvergeLevel]).optional(),
    postcopy: z.union([off, postcopyLevel]).optional(),
    pauseBeforeSwitchover: z.boolean().optional(),
    pause: z.union([off, z.object({ afterPasses: z.number().int().min(0).max(1000) }).strict()]).optional(),
  })
  .strict();

export const campaignSchema = z
  .object({
    campaign: name('the campaign name'),
    /** run on a local test bed brought up by `miglab lab up` (its hosts and keys) */
    bed: name('the bed name').optional(),
    /** or on these hosts */
    hosts: z.array(hostSchema).min(2, 'a migration needs at least two hosts').optional(),
    /**
     * source → destination pairs; by default the first two hosts. A third element names the
     * pair's hypervisor when it is not the campaign's (`[hostc, hostd, libvirt]`): pairs of each
     * kind side by side, the trials of each `factors.hypervisor` level on the pairs of that kind.
     */
    pairs: z.array(z.union([z.tuple([z.string(), z.string()]), z.tuple([z.string(), z.string(), hypervisorSchema])])).min(1).optional(),
    /** the hypervisor of every pair that names none */
    hypervisor: hypervisorSchema.default('qemu'),
    vm: z
      .object({
        memoryMiB: z.number().int().min(64, 'the guest needs at least 64 MiB').max(1 << 20),
        vcpus: z.number().int().min(1).max(64).default(1),
        /**
         * How guest code runs (QEMU and libvirt): kvm, tcg (QEMU's software emulation), or auto —
         * KVM on hosts where a probe shows it works, TCG elsewhere (said in the run's output).
         */
        accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
        /** the guest's CPU model (QEMU's names); `host` passes the host's CPU through (KVM, identical hosts only) */
        cpu: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'cpu must be a QEMU CPU model name such as qemu64, Skylake-Server or host').optional(),
        guest: guestSchema.optional(),
        /**
         * fresh: every trial boots its own VM and stops it at its end. ping-pong: each lane boots
         * one VM, which moves src→dst in one trial and back in the next (its workload restarted,
         * its memory checked on every move; a trial that fails stops it, and the next boots anew);
         * each row says whether its VM was fresh. On the bed a boot is 6.4 of a trial's 9.2 s.
         */
        reuse: z.enum(['fresh', 'ping-pong']).default('fresh'),
        /**
         * Boot the guest from a disk (QEMU). On a bed: the Debian guest image setup builds. On own
         * hosts: `image`, at that path on every host, with vm.guest's kernel and initrd booting it
         * (root=/dev/vda). storage shared: the image's folder is on storage every host sees and
         * only RAM moves; local: each host keeps its own copy and the disk moves with the VM.
         */
        disk: z
          .object({
            storage: z.enum(['shared', 'local']),
            image: z.string().regex(/^\/[A-Za-z0-9_.\/-]*$/, 'image must be an absolute path on the hosts').optional(),
            format: z.enum(['qcow2', 'raw']).default('qcow2'),
          })
          .strict()
          .optional(),
      })
      .strict(),
    scenarios: z.array(scenarioSchema).min(1, 'list at least one scenario'),
    repetitions: z.number().int().min(1).max(1000).default(1),
    /**
     * a named comparison after QEMU's guestperf (campaign/presets.ts): its factors, added to the
     * file's own (e.g. post-copy-iters: post-copy after 0, 1, 5 and 20 passes)
     */
    preset: z.string().optional(),
    /** settings to vary: every combination of their levels runs (a full factorial) … */
    factors: factorsSchema.optional(),
    /** … or only these combinations */
    combinations: z.array(combinationSchema).min(1).optional(),
    /**
     * The order trials run in. as-listed: scenario by scenario, size by size. random: shuffled
     * within each repetition (all of repetition 1 before any of 2), so that drift over a long
     * campaign is spread over every level instead of masquerading as an effect. The seed makes the
     * order reproducible (by default one derived from the campaign's name). Default: random when
     * the campaign has factors or combinations, as-listed otherwise.
     */
    order: z
      .object({
        kind: z.enum(['as-listed', 'random']).optional(),
        seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      })
      .strict()
      .optional(),
    migration: z
      .object({
        /** the migration's bandwidth cap; required for QEMU and libvirt, refused for Xen (xl has none) */
        bandwidthMiBps: z.number().positive().max(100_000).optional(),
        downtimeLimitMs: z.number().int().positive().max(60_000).default(300),
        /** abort after this many seconds per GiB of guest memory (Nova uses 800) */
        completionTimeoutSPerGiB: z.number().positive().max(86_400).default(800),
        /** stall rule: abort when remaining bytes set no new low for this many iterations */
        stall: z.object({ iterations: z.number().int().min(2).max(1000) }).strict().default({ iterations: 10 }),
      })
      .strict(),
    ladder: z.array(ladderStepSchema).default([]),
    fallback: z.enum(['offline', 'none']).default('offline'),
    probe: z
      .object({
        intervalMs: z.number().int().min(1, 'the probe interval must be at least 1 ms').max(10_000).default(10),
        /** send pings by this interface (on a bed: its controller veth, always) */
        interface: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'interface must be an interface name').optional(),
      })
      .strict()
      .default({ intervalMs: 10 }),
    /**
     * What miglab measures beyond the paper's TMT, DT and MD. guest: log in to the guest for its
     * memory use and for its clock before and after the move (about 2 s a trial on the TCG bed);
     * false keeps a trial to the paper's own steps.
     */
    measure: z.object({ guest: z.boolean().default(true) }).strict().default({ guest: true }),
    /** results folder, relative to the campaign file */
    results: z.string().min(1).default('results'),
  })
  .strict();

export type CampaignSpec = z.infer<typeof campaignSchema>;
export type Scenario = z.infer<typeof scenarioSchema>;
export type LadderStep = z.infer<typeof ladderStepSchema>;
export type HostSpec = z.infer<typeof hostSchema>;
export type Factors = z.infer<typeof factorsSchema>;
export type Combination = z.infer<typeof combinationSchema>;
export type GuestSpec = z.infer<typeof guestSchema>;
export type Hypervisor = z.infer<typeof hypervisorSchema>;
