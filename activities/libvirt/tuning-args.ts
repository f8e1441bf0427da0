/**
 * A trial's migration tuning as `virsh migrate` options. libvirt sets the same QEMU capabilities
 * and parameters miglab's QEMU backend does: XBZRLE through --compressed with its cache in bytes,
 * multifd through --parallel, its compression as a compression method beside xbzrle, post-copy's
 * own cap through --postcopy-bandwidth.
 */
import type { MigrationTuning } from '../../workflows/trial-types.js';

const MiB = 2 ** 20;

export function virshTuningArgs(t: MigrationTuning | undefined, ladderAutoConverge: { initialThrottle: number; increment: number } | null): (string | number)[] {
  const methods = [...(t?.xbzrleCacheMiB ? ['xbzrle'] : []), ...(t?.multifd && t.multifd.compression !== 'none' ? [t.multifd.compression] : [])];
  // virsh has no options for auto-converge's maximum throttle or tailslow: `miglab check` refuses them for libvirt
  const ac = ladderAutoConverge ?? t?.autoConverge ?? null;
  return [
    ...(ac ? ['--auto-converge', '--auto-converge-initial', ac.initialThrottle, '--auto-converge-increment', ac.increment] : []),
    ...(methods.length ? ['--compressed', '--comp-methods', methods.join(',')] : []),
    ...(t?.xbzrleCacheMiB ? ['--comp-xbzrle-cache', t.xbzrleCacheMiB * MiB] : []),
    ...(t?.multifd ? ['--parallel', '--parallel-connections', t.multifd.channels] : []),
    // virsh takes whole MiB/s (--postcopy itself comes with the attempt's post-copy permission)
    ...(t?.postcopy?.bandwidthMiBps ? ['--postcopy-bandwidth', Math.max(1, Math.round(t.postcopy.bandwidthMiBps))] : []),
  ];
}
