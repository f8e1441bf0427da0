/**
 * Before a QEMU or libvirt campaign starts: which accelerator and CPU model each host will run
 * its guests with (vm.accel, vm.cpu), probed on the hosts themselves (activities/qemu/accel-probe.ts).
 * A host that cannot honour the campaign's choice, or a pair whose hosts would differ, is refused
 * with the reason — a migration between a KVM and a TCG host, or between CPUs that differ under
 * `host`, would measure something nobody asked for.
 */
import { probeKvm, resolveAccel, type AccelResolution, type ResolvedGuestCpu } from '../activities/qemu/accel-probe.js';
import { DEFAULT_CPU_MODEL, type AccelChoice, type GuestCpu } from '../activities/qemu/guest-cpu.js';
import type { SshPool, SshTarget } from '../activities/ssh/pool.js';
import { UserError } from '../lib/errors.js';

export interface AccelHost {
  name: string;
  ssh: SshTarget;
}

export interface AccelRequest {
  choice: AccelChoice;
  cpu: string;
  /** the guest kernel, at this path on every host: the probe boots it */
  kernel: string;
  hosts: readonly AccelHost[];
  pairs: readonly (readonly [string, string])[];
}

export const accelRequest = (vm: { accel?: AccelChoice | undefined; cpu?: string | undefined }) => ({ choice: vm.accel ?? 'auto', cpu: vm.cpu ?? DEFAULT_CPU_MODEL });

/** The host's CPU as /proc/cpuinfo names it: shell that prints `model: …` and `flags: …` lines. */
export const HOST_CPU_SCRIPT =
  `echo "model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"; ` +
  `echo "flags: $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"`;

export interface HostCpu {
  model: string | null;
  flags: Set<string>;
}

/** HOST_CPU_SCRIPT's lines (among others) as a HostCpu. */
export function parseHostCpu(lines: readonly string[]): HostCpu {
  const field = (k: string) => lines.find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2).trim() || null;
  return { model: field('model'), flags: new Set((field('flags') ?? '').split(/\s+/).filter(Boolean)) };
}

/** Flags one CPU has and the other lacks. */
export function cpuFlagsApart(a: HostCpu, b: HostCpu): { onlyA: string[]; onlyB: string[] } {
  return { onlyA: [...a.flags].filter((f) => !b.flags.has(f)), onlyB: [...b.flags].filter((f) => !a.flags.has(f)) };
}

/** Why CPU model `host` cannot run on this pair (it needs the same model and flags), or undefined. */
export function hostCpuMismatch(src: string, a: HostCpu, dst: string, b: HostCpu): string | undefined {
  const { onlyA, onlyB } = cpuFlagsApart(a, b);
  if (a.model === b.model && !onlyA.length && !onlyB.length) return undefined;
  return `CPU model host needs identical CPUs; ${src} has ${a.model ?? '?'}${onlyA.length ? ` (+${onlyA.slice(0, 8).join(' ')})` : ''}, ${dst} ${b.model ?? '?'}${onlyB.length ? ` (+${onlyB.slice(0, 8).join(' ')})` : ''}`;
}

/** Why a pair's hosts would run guests differently (a KVM → TCG move measures neither), or undefined. */
export function accelMismatch(src: string, a: ResolvedGuestCpu, dst: string, b: ResolvedGuestCpu): string | undefined {
  if (a.accel === b.accel) return undefined;
  return `${src} would run guests under ${a.accel.toUpperCase()}, ${dst} under ${b.accel.toUpperCase()} (${b.accel === 'tcg' ? b.why : a.why})`;
}

/** One host's accelerator for the campaign's choice: probed unless the choice is tcg. */
export async function resolveHostAccel(req: Pick<AccelRequest, 'choice' | 'cpu' | 'kernel'>, pool: SshPool, ssh: SshTarget): Promise<AccelResolution> {
  const kvm = req.choice === 'tcg' ? undefined : await probeKvm(pool, ssh, { kernel: req.kernel, cpu: req.cpu });
  return resolveAccel(req.choice, req.cpu, kvm);
}

/**
 * Each host's accelerator and CPU model, one line each said through `log`. Throws a UserError
 * naming every host or pair that cannot run as asked, and the fix.
 */
export async function resolveGuestCpus(req: AccelRequest, pool: SshPool, log: (line: string) => void): Promise<Record<string, GuestCpu>> {
  const used = req.hosts.filter((h) => req.pairs.some((p) => p.includes(h.name)));
  const results = await Promise.all(used.map((h) => resolveHostAccel(req, pool, h.ssh)));
  const problems: string[] = [];
  const resolved: Record<string, ResolvedGuestCpu> = {};
  used.forEach((h, i) => {
    const r = results[i]!;
    if (r.ok) resolved[h.name] = r.guest;
    else problems.push(`${h.name}: ${r.reason}`);
  });
  if (problems.length === 0) {
    for (const [src, dst] of req.pairs) {
      const differ = accelMismatch(src, resolved[src]!, dst, resolved[dst]!);
      if (differ) problems.push(`pair ${src} → ${dst}: ${differ}`);
    }
    if (req.cpu === 'host') {
      const cpus = new Map(await Promise.all(used.map(async (h) => [h.name, parseHostCpu((await pool.execShell(h.ssh, HOST_CPU_SCRIPT)).stdout.split('\n'))] as const)));
      for (const [src, dst] of req.pairs) {
        const differ = hostCpuMismatch(src, cpus.get(src)!, dst, cpus.get(dst)!);
        if (differ) problems.push(`pair ${src} → ${dst}: ${differ}`);
      }
    }
  }
  if (problems.length) {
    throw new UserError(
      `the hosts cannot run guests as vm.accel: ${req.choice}, vm.cpu: ${req.cpu} asks, nothing was started:\n  ${problems.join('\n  ')}`,
      req.choice === 'kvm' || req.cpu === 'host'
        ? 'make KVM work on those hosts (the kvm module loaded, /dev/kvm usable by the SSH user, the CPU model supported), or set vm.accel: auto or tcg and name a CPU model both hosts of each pair have'
        : 'give both hosts of each pair the same accelerator: fix KVM on the host without it, or set vm.accel: tcg',
    );
  }
  for (const h of used) log(`  ${h.name}: guests run under ${resolved[h.name]!.accel.toUpperCase()}, CPU model ${req.cpu} — ${resolved[h.name]!.why}`);
  return Object.fromEntries(Object.entries(resolved).map(([name, g]) => [name, { accel: g.accel, cpu: g.cpu }]));
}
