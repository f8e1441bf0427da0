/**
 * A QEMU guest's RAM as page digests, read on its host through /proc/<pid>/mem: two hosts' copies
 * of one guest compare page by page (dirty-tracking.e2e).
 */
import { FIND_GUEST_RAM_PY } from '../../activities/qemu/non-zero-pages.js';
import type { SshPool, SshTarget } from '../../activities/ssh/pool.js';

const DIGEST_SCRIPT = `${FIND_GUEST_RAM_PY}
import hashlib
out = []
with open('/proc/%d/mem' % pid, 'rb', 0) as mem:
    pos = ram[0]
    while pos < ram[1]:
        mem.seek(pos)
        buf = mem.read(min(1 << 22, ram[1] - pos))
        out.extend(hashlib.blake2b(buf[i:i + 4096], digest_size=8).hexdigest() for i in range(0, len(buf), 4096))
        pos += len(buf)
sys.stdout.write('\\n'.join(out))
`;

/** One digest per 4 KiB page of the guest's RAM, in guest-physical order of the mapping. */
export async function guestRamDigests(pool: SshPool, ssh: SshTarget, pidFile: string, memoryMiB: number): Promise<string[]> {
  const pid = (await pool.exec(ssh, ['cat', pidFile])).stdout.trim();
  const r = await pool.exec(ssh, ['python3', '-c', DIGEST_SCRIPT, pid, String(memoryMiB * 1024), String(memoryMiB * 1024 + 4096)]);
  return r.stdout.split('\n');
}

/** Pages whose contents differ between two digests of the same RAM (the lengths must agree). */
export function differingPages(a: readonly string[], b: readonly string[]): number {
  if (a.length !== b.length) throw new Error(`the two RAM copies differ in size: ${a.length} and ${b.length} pages`);
  return a.reduce((n, d, i) => n + (d === b[i] ? 0 : 1), 0);
}
