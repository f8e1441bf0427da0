/**
 * A libvirt migration step whose attempt a retry has taken over stops before it touches the
 * migration again (fake virsh: a scripted SSH pool, no libvirt here). Why: a retried step and the
 * attempt it replaced once followed one migration side by side; the old one's stall rule aborted
 * it and the retry recorded the abort as a failure (docs/temporal.md).
 */
import { describe, expect, it } from 'vitest';
import { SupersededAttempt, type MigrationWatch } from '../activities/backend.js';
import type { SshPool, SshTarget } from '../activities/ssh/pool.js';
import { backendWith, DUMPXML, failed, ok, params, vmSpec } from './helpers/fake-virsh.js';

const spec = vmSpec('c/ramp/64MiB/r1');

/** A migration out under way, in its third pass, as `virsh domjobinfo --rawstats` prints it. */
const UNDER_WAY = ['Job type: 2', '', 'operation: 5', 'time_elapsed: 4000', 'memory_total: 268435456', 'memory_processed: 300000000', 'memory_remaining: 60000000', 'memory_iteration: 3', 'memory_dirty_rate: 16000', 'memory_page_size: 4096', ''].join('\n');

/**
 * Every command sent, in words. With a migration under way, virsh answers as for one until
 * domjobabort, then it has ended (exit 1); with none, the domain runs on the source alone (no job,
 * no exit code, nothing on the destination) and its XML names its console.
 */
function fakePool(o: { underWay: boolean }) {
  const sent: string[] = [];
  let aborted = false;
  const pool = {
    async exec(_t: SshTarget, argv: readonly (string | number)[]) {
      const cmd = argv.join(' ');
      sent.push(cmd);
      if (cmd.includes('domjobabort')) aborted = true;
      if (cmd.includes('domjobinfo')) return o.underWay ? ok(UNDER_WAY) : failed();
      if (cmd.startsWith('cat ')) return failed();
      if (cmd.includes('domstate')) return failed('error: failed to get domain');
      if (cmd.includes('dumpxml')) return ok(DUMPXML);
      return ok();
    },
    async execShell(_t: SshTarget, script: string) {
      sent.push(script);
      // a poll: the background virsh's exit code, '--', the job's statistics
      if (script.includes('domjobinfo')) return ok(aborted ? `1\n--\nJob type: 0\n` : `\n--\n${UNDER_WAY}`);
      return ok();
    },
  };
  return { pool: pool as unknown as SshPool, sent };
}

describe('a superseded libvirt migration attempt (fake virsh)', () => {
  it('follows a migration under way and aborts it when a rule says so (the control)', async () => {
    const { pool, sent } = fakePool({ underWay: true });
    const watch: MigrationWatch = { abortIf: () => 'no new low for 6 iterations', superseded: () => false };
    const r = await backendWith(pool).migrate('hosta', 'hostb', spec, params, watch);
    expect(r).toMatchObject({ status: 'cancelled', error: 'no new low for 6 iterations' });
    expect(sent.some((c) => c.includes('domjobabort'))).toBe(true);
  });

  it('a superseded attempt throws at its first poll and sends no abort', async () => {
    const { pool, sent } = fakePool({ underWay: true });
    const watch: MigrationWatch = { abortIf: () => 'no new low for 6 iterations', superseded: () => true };
    await expect(backendWith(pool).migrate('hosta', 'hostb', spec, params, watch)).rejects.toBeInstanceOf(SupersededAttempt);
    expect(sent.filter((c) => c.includes('domjobabort'))).toEqual([]);
    expect(sent.filter((c) => c.includes('domjobinfo'))).toHaveLength(2); // the check for a job under way, one poll
  });

  it('a superseded attempt that found no migration under way starts none', async () => {
    const { pool, sent } = fakePool({ underWay: false });
    await expect(backendWith(pool).migrate('hosta', 'hostb', spec, params, { superseded: () => true })).rejects.toBeInstanceOf(SupersededAttempt);
    expect(sent.filter((c) => /virsh .*\bmigrate\b.*--live/.test(c))).toEqual([]);
    expect(sent.some((c) => c.includes('dumpxml'))).toBe(true); // it got as far as writing the domain
  });
});
