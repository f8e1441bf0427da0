/**
 * What a failed libvirt move says (fake virsh: a scripted SSH pool, no libvirt here; the bed case
 * of a held port is in lab.e2e for the QEMU backend). The destination is told to listen on its
 * address; a port in use is followed by what holds it, a refused connection by the end of the
 * destination's QEMU log. Why: stop 36's CI had both attempts of a trial refused with nothing more
 * to go on (docs/backends.md).
 */
import { describe, expect, it } from 'vitest';
import type { SshPool, SshTarget } from '../activities/ssh/pool.js';
import { backendWith, DUMPXML, failed, ok, params, vmSpec } from './helpers/fake-virsh.js';

const spec = vmSpec('c/baseline/idle/r1');

const IN_USE = "error: internal error: unable to execute QEMU command 'migrate-incoming': Failed to find an available port: Address already in use";
const REFUSED = "error: unable to connect to server at '198.18.0.2:49152': Connection refused";
const HOLDER = 'ESTAB 0 0 198.18.0.2:49152 198.18.0.1:22 users:(("socat",pid=7,fd=5))';
const QEMU_LOG = ['2026-12-03 06:40:01.100+0000: Domain id=2 is tainted: high-privileges', '2026-12-03T06:40:02.117979Z qemu-system-x86_64: terminating on signal 15 from pid 1250 (/usr/sbin/libvirtd)', '2026-12-03 06:40:03.123+0000: shutting down, reason=destroyed'].join('\n');

/**
 * A source whose domain runs alone; the background virsh migrate, once started, has exited 1
 * having printed `virshSaid`; the destination's ss and QEMU log answer as given. Every command
 * sent is kept, with the host it went to.
 */
function fakePool(virshSaid: string) {
  const sent: string[] = [];
  let started = false;
  const pool = {
    async exec(t: SshTarget, argv: readonly (string | number)[]) {
      const cmd = argv.join(' ');
      sent.push(`${t.host}: ${cmd}`);
      if (cmd.includes('domjobinfo')) return failed();
      if (cmd.includes('domstate')) return failed('error: failed to get domain');
      if (cmd.startsWith('cat ') && cmd.endsWith('.log')) return ok(`${virshSaid}\n`);
      if (cmd.startsWith('cat ')) return failed();
      if (cmd.startsWith('tail -n 3 /var/log/libvirt/qemu/mvm0.log')) return ok(QEMU_LOG);
      if (cmd.includes('dumpxml')) return ok(DUMPXML);
      return ok();
    },
    async execShell(t: SshTarget, script: string) {
      sent.push(`${t.host}: ${script}`);
      if (script.includes('setsid')) started = true;
      // a poll: the background virsh's exit code, '--', the job's statistics
      if (script.includes('domjobinfo')) return ok(started ? '1\n--\n' : '\n--\n');
      if (script.startsWith('ss ')) return ok(`${HOLDER}\n`);
      return ok();
    },
  };
  return { pool: pool as unknown as SshPool, sent };
}

describe('a failed libvirt move (fake virsh)', () => {
  it('tells the destination to listen on its own address, where the source connects', async () => {
    const { pool, sent } = fakePool(IN_USE);
    await backendWith(pool).migrate('hosta', 'hostb', spec, params);
    const migrate = sent.find((c) => c.includes('setsid'))!;
    expect(migrate).toMatch(/--listen-address 198\.18\.0\.2 .*--migrateuri tcp:\/\/198\.18\.0\.2:49152/);
  });

  it("a port in use: the error names what holds it on the destination", async () => {
    const { pool, sent } = fakePool(IN_USE);
    const r = await backendWith(pool).migrate('hosta', 'hostb', spec, params);
    expect(r).toMatchObject({ status: 'failed', error: `${IN_USE} (on hostb, port 49152: ${HOLDER}; reserve the migration ports from the ephemeral range: sysctl net.ipv4.ip_local_reserved_ports)` });
    expect(sent).toContain("hostb: ss -Htanp 'sport = :49152' 2>/dev/null || echo '(ss could not be run here)'");
  });

  it("a refused connection: the error ends with the destination's QEMU log", async () => {
    const { pool } = fakePool(REFUSED);
    const r = await backendWith(pool).migrate('hosta', 'hostb', spec, params);
    expect(r).toMatchObject({ status: 'failed', error: `${REFUSED} (hostb's QEMU log of mvm0 ends: ${QEMU_LOG.split('\n').join(' | ')})` });
  });

  it('any other error is passed on as virsh said it', async () => {
    const said = 'error: operation failed: migration out job: unexpectedly failed';
    const { pool, sent } = fakePool(said);
    expect(await backendWith(pool).migrate('hosta', 'hostb', spec, params)).toMatchObject({ status: 'failed', error: said });
    expect(sent.filter((c) => c.includes(' ss ') || c.includes('tail -n 3'))).toEqual([]);
  });
});
