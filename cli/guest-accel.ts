/**
 * Before a QEMU or libvirt campaign starts: which accelerator and CPU model each host will run
 * its guests with (vm.accel, vm.cpu), probed on the hosts themselves (activities/qemu/accel-probe.ts).
 * A host that cannot honour the campaign's choice, or a pair whose hosts would differ, is refused
 * with the reason — a migration between a KVM and a TCG host, or between CPUs that differ under
 * `host`, would measure something nobody asked for.
 */
import { probeKvm, resolveAccel, type KvmVerdict, type ResolvedGuestCpu } from '../activities/qemu/accel-probe.js';
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

/**
 * Each host's accelerator and CPU model, one line each said through `log`. Throws a UserError
 * naming every host or pair that cannot run as asked, and the fix.
 */
export async function resolveGuestCpus(req: AccelRequest, pool: SshPool, log: (line: string) => void): Promise<Record<string, GuestCpu>> {
  const used = req.hosts.filter((h) => req.pairs.some((p) => p.includes(h.name)));
  const probes = new Map<string, KvmVerdict | undefined>(
    await Promise.all(
      used.map(async (h) => [h.name, req.choice === 'tcg' ? undefined : await probeKvm(pool, h.ssh, { kernel: req.kernel, cpu: req.cpu })] as const),
    ),
  );
  const problems: string[] = [];
  const resolved: Record<string, ResolvedGuestCpu> = {};
  for (const h of used) {
    const r = resolveAccel(req.choice, req.cpu, probes.get(h.name));
    if (r.ok) resolved[h.name] = r.guest;
    else problems.push(`${h.name}: ${r.reason}`);
  }
  if (problems.length === 0) {
    for (const [src, dst] of req.pairs) {
      const a = resolved[src]!, b = resolved[dst]!;
      if (a.accel !== b.accel) problems.push(`pair ${src} → ${dst}: ${src} would run guests under ${a.accel.toUpperCase()}, ${dst} under ${b.accel.toUpperCase()} (${b.accel === 'tcg' ? b.why : a.why})`);
    }
    if (req.cpu === 'host') problems.push(...(await hostCpuMismatches(req, used, pool)));
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

/** `host` passes the host CPU through: both hosts of a pair must have the same model and flags. */
async function hostCpuMismatches(req: AccelRequest, used: readonly AccelHost[], pool: SshPool): Promise<string[]> {
  const cpus = new Map<string, { model: string; flags: Set<string> }>();
  await Promise.all(
    used.map(async (h) => {
      const r = await pool.execShell(h.ssh, "sed -n 's/^model name[[:space:]]*: //p; s/^flags[[:space:]]*: /flags /p' /proc/cpuinfo | head -n 2");
      const [model = '?', flags = ''] = r.stdout.split('\n');
      cpus.set(h.name, { model: model.trim(), flags: new Set(flags.replace(/^flags /, '').trim().split(/\s+/)) });
    }),
  );
  const out: string[] = [];
  for (const [src, dst] of req.pairs) {
    const a = cpus.get(src)!, b = cpus.get(dst)!;
    const onlyA = [...a.flags].filter((f) => !b.flags.has(f));
    const onlyB = [...b.flags].filter((f) => !a.flags.has(f));
    if (a.model !== b.model || onlyA.length || onlyB.length) {
      out.push(`pair ${src} → ${dst}: CPU model host needs identical CPUs; ${src} has ${a.model}${onlyA.length ? ` (+${onlyA.slice(0, 8).join(' ')})` : ''}, ${dst} ${b.model}${onlyB.length ? ` (+${onlyB.slice(0, 8).join(' ')})` : ''}`);
    }
  }
  return out;
}
