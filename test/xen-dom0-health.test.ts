/**
 * The dom0 health check's verdicts, from what its script prints (the e2e in xen.e2e.test.ts runs it
 * in a real dom0 after a real segfault).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { healthScript, judgeDom0, parseDom0Reading, XL_TIMEOUT_S } from '../activities/xen/dom0-health.js';

const RUN = '/run/miglab';
const crash = 'dirtier[812]: segfault at 8 ip 00007f3a1c2b4e10 sp 00007ffd3c1a8f20 error 4 in libc.so.6[7f3a1c28c000+155000]';
const reading = (o: { xl?: string; segfaults?: string; accepted?: string; crashes?: string[]; xlerr?: string[] }) =>
  parseDom0Reading([`xl=${o.xl ?? '0'}`, ...(o.xlerr ?? []).map((l) => `xlerr=${l}`), `segfaults=${o.segfaults ?? '0'}`, `accepted=${o.accepted ?? ''}`, ...(o.crashes ?? []).map((l) => `crash=${l}`)].join('\n'));

describe('dom0 health', () => {
  it('keeps the first count it sees as the baseline, and passes while the count stays', () => {
    expect(judgeDom0('hosta', reading({ segfaults: '3' }), RUN)).toEqual({ healthy: true, segfaults: 3, accept: 3 });
    expect(judgeDom0('hosta', reading({ segfaults: '3', accepted: '3' }), RUN)).toEqual({ healthy: true, segfaults: 3, accept: undefined });
  });

  it('refuses a dom0 that logged segfaults since it was last found healthy, naming them and how to clear it', () => {
    const v = judgeDom0('hosta', reading({ segfaults: '5', accepted: '3', crashes: ['xl[700]: segfault at 0 ip 1 sp 2 error 4', crash] }), RUN);
    expect(v.healthy).toBe(false);
    const reason = v.healthy ? '' : v.reason;
    expect(reason).toMatch(/^hosta's dom0 logged 2 segfaults since miglab last found it healthy \(5 since boot, 3 accepted\)/);
    expect(reason).toContain(`The kernel's last: xl[700]: segfault at 0 ip 1 sp 2 error 4 | ${crash}.`);
    expect(reason).toContain('`echo 5 > /run/miglab/dom0-segfaults.accepted`');
    // one new crash names only the newest line
    const one = judgeDom0('hosta', reading({ segfaults: '4', accepted: '3', crashes: ['old', crash] }), RUN);
    expect(one.healthy ? '' : one.reason).toContain(`1 segfault since`);
    expect(one.healthy ? '' : one.reason).toContain(`last: ${crash}.`);
  });

  it('takes a count below the kept one as a restarted log (reboot, cleared ring): a new baseline', () => {
    expect(judgeDom0('hosta', reading({ segfaults: '0', accepted: '4' }), RUN)).toEqual({ healthy: true, segfaults: 0, accept: 0 });
  });

  it('refuses a toolstack that does not answer or fails, and a check that did not finish', () => {
    const hung = judgeDom0('hostb', reading({ xl: '124' }), RUN);
    expect(hung.healthy ? '' : hung.reason).toBe(`hostb's toolstack is not answering: xl list did not answer within ${XL_TIMEOUT_S} s. Check xenstored and the Xen daemons in its dom0, or reboot the host`);
    const failed = judgeDom0('hostb', reading({ xl: '1', xlerr: ['libxl: error: libxl.c:102:libxl_ctx_alloc: cannot connect to xenstore'] }), RUN);
    expect(failed.healthy ? '' : failed.reason).toContain('xl list exited 1: libxl: error: libxl.c:102:libxl_ctx_alloc: cannot connect to xenstore');
    expect(judgeDom0('hostb', parseDom0Reading(''), RUN).healthy).toBe(false);
  });

  it('passes a dom0 whose kernel log cannot be read, with no count (the move records none either)', () => {
    expect(judgeDom0('hosta', reading({ segfaults: '' }), RUN)).toEqual({ healthy: true, segfaults: null, accept: undefined });
  });

  it("its script, run by a real shell with stand-ins for xl and dmesg (none here), prints what the parser reads", () => {
    // stand-ins only because this machine has no Xen: the script and the shell are the real ones
    const bin = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('sh', ['-c', `printf '#!/bin/sh\\necho "libxl: error: cannot connect to xenstore" >&2; exit 3\\n' > ${bin}/xl; printf '#!/bin/sh\\necho "[ 1.0] ok"; echo "[ 2.0] ${crash}"\\n' > ${bin}/dmesg; chmod +x ${bin}/xl ${bin}/dmesg`]);
    const out = execFileSync('sh', ['-c', healthScript(`${bin}/run`)], { env: { PATH: `${bin}:/usr/bin:/bin` } }).toString();
    expect(parseDom0Reading(out)).toEqual({ xlExit: 3, xlError: 'libxl: error: cannot connect to xenstore', segfaults: 1, accepted: null, crashes: [`[ 2.0] ${crash}`] });
    execFileSync('rm', ['-rf', bin]);
  });
});
