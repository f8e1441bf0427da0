/**
 * How much of a QEMU guest's RAM is not zero, counted on the host before a migration: what
 * precopy's first pass must send in full (zero pages go as headers). Neither the guest's own view
 * (pages it uses now; freed pages keep their contents) nor the process's resident size (pages
 * once touched, zeroed ones too, plus QEMU's own) says it: on the bed an idle 256 MiB guest used
 * 33 MiB by its own count, had 133 MiB of RAM resident, and its first pass sent 88 MiB.
 *
 * Reads the RAM mapping through /proc/<pid>/mem with the host's python3 (root on the host, as
 * miglab's other host commands are); untouched pages read as zero without being allocated.
 */
import type { SshPool, SshTarget } from '../ssh/pool.js';

/**
 * Python: finds the anonymous mapping of the guest's RAM in process argv[1] by its size (argv[2]
 * to argv[3] KiB) as `ram` = (start, end); exits 3 when there is none.
 */
export const FIND_GUEST_RAM_PY = `
import sys
pid, lo, hi = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ram = None
for line in open('/proc/%d/maps' % pid):
    f = line.split()
    a, b = (int(x, 16) for x in f[0].split('-'))
    if lo <= (b - a) // 1024 <= hi and f[1].startswith('rw') and len(f) < 6:
        ram = (a, b) if ram is None or (b - a) > (ram[1] - ram[0]) else ram
if ram is None:
    sys.exit(3)
`;

/** counts the guest RAM's pages that are not all zero (MiB) */
const COUNT_SCRIPT = `${FIND_GUEST_RAM_PY}
page, zero, n = 4096, bytes(4096), 0
with open('/proc/%d/mem' % pid, 'rb', 0) as mem:
    pos = ram[0]
    while pos < ram[1]:
        mem.seek(pos)
        buf = mem.read(min(1 << 22, ram[1] - pos))
        n += sum(1 for i in range(0, len(buf), page) if buf[i:i + page] != zero)
        pos += len(buf)
print(n * page / 1048576.0)
`;

/** MiB of the guest's RAM that is not zero; null when the process, its RAM mapping or python3 cannot be found. */
export async function nonZeroGuestMiB(pool: SshPool, ssh: SshTarget, pidFile: string, memoryMiB: number): Promise<number | null> {
  const pid = (await pool.exec(ssh, ['cat', pidFile], { allowFailure: true })).stdout.trim();
  if (!/^\d+$/.test(pid)) return null;
  // the RAM block is the configured size, plus miglab's padding on QEMU before 9.0 (a few pages)
  const r = await pool.exec(ssh, ['python3', '-c', COUNT_SCRIPT, pid, String(memoryMiB * 1024), String(memoryMiB * 1024 + 4096)], { allowFailure: true });
  const mib = Number(r.stdout.trim());
  return r.stdout.trim() !== '' && Number.isFinite(mib) ? Math.round(mib * 10) / 10 : null;
}
