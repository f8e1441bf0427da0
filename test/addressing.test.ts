import { describe, expect, it } from 'vitest';
import { cidrContains, guestIp, guestMac, intToIp, ipToInt, parseCidr, planBed } from '../lab/addressing.js';
import { UserError } from '../lib/errors.js';

function caught(fn: () => unknown): UserError | undefined {
  try {
    fn();
  } catch (e) {
    return e as UserError;
  }
  return undefined;
}

describe('address plan', () => {
  it('converts between dotted quads and integers', () => {
    expect(ipToInt('198.18.0.1')).toBe(198 * 2 ** 24 + 18 * 2 ** 16 + 1);
    expect(intToIp(ipToInt('198.19.255.254'))).toBe('198.19.255.254');
    expect(() => ipToInt('198.18.0.256')).toThrow(UserError);
    expect(() => ipToInt('198.18.0')).toThrow(/not an IPv4 address/);
  });

  it('parses CIDR blocks and rejects host bits, naming the aligned block', () => {
    expect(parseCidr('198.18.4.0/22')).toEqual({ network: ipToInt('198.18.4.0'), prefix: 22 });
    expect(caught(() => parseCidr('198.18.0.5/24'))).toMatchObject({ message: expect.stringContaining('host bits'), fix: 'use 198.18.0.0/24' });
    expect(() => parseCidr('198.18.0.0')).toThrow(/not a CIDR block/);
  });

  it('checks containment at both edges of 198.18.0.0/15', () => {
    const bench = parseCidr('198.18.0.0/15');
    expect(cidrContains(bench, parseCidr('198.19.255.0/24'))).toBe(true);
    expect(cidrContains(bench, parseCidr('198.20.0.0/24'))).toBe(false);
    expect(cidrContains(bench, parseCidr('198.16.0.0/14'))).toBe(false);
  });

  it('lays out controller, hosts and guests inside the bed subnet', () => {
    const plan = planBed({ bed: 'lab', subnet: '198.18.0.0/24', hosts: ['hosta', 'hostb', 'hostc'] });
    expect(plan.controllerIp).toBe('198.18.0.1');
    expect(plan.hosts.map((h) => h.ip)).toEqual(['198.18.0.10', '198.18.0.11', '198.18.0.12']);
    expect(plan.hosts.map((h) => h.netns)).toEqual(['miglab-lab-hosta', 'miglab-lab-hostb', 'miglab-lab-hostc']);
    expect(plan.controllerIf.length).toBeLessThanOrEqual(15);
    expect(plan.firstGuestIp).toBe('198.18.0.100');
    expect(plan.lastGuestIp).toBe('198.18.0.254');
    expect(guestIp(plan, 0)).toBe('198.18.0.100');
    expect(guestIp(plan, 154)).toBe('198.18.0.254');
    expect(() => guestIp(plan, 155)).toThrow(/does not fit/);
    expect(() => guestIp(plan, -1)).toThrow(/does not fit/);
  });

  it('refuses subnets outside the benchmarking range, with the fix', () => {
    for (const subnet of ['10.0.0.0/24', '192.168.1.0/24', '198.20.0.0/24']) {
      const err = caught(() => planBed({ bed: 'lab', subnet, hosts: ['a', 'b'] }));
      expect(err).toBeInstanceOf(UserError);
      expect(err!.message).toContain('outside 198.18.0.0/15');
      expect(err!.fix).toContain('198.18.0.0/24');
    }
    expect(() => planBed({ bed: 'lab', subnet: '198.18.0.0/25', hosts: ['a'] })).toThrow(/too small/);
  });

  it('refuses names that would break interface names or repeat', () => {
    expect(() => planBed({ bed: 'lab', subnet: '198.18.0.0/24', hosts: ['hosta', 'hosta'] })).toThrow(/appears twice/);
    expect(() => planBed({ bed: 'lab', subnet: '198.18.0.0/24', hosts: ['Host-A'] })).toThrow(/not allowed/);
    expect(() => planBed({ bed: 'averylongbedname', subnet: '198.18.0.0/24', hosts: ['a'] })).toThrow(/bed name/);
    expect(() => planBed({ bed: 'lab', subnet: '198.18.0.0/24', hosts: ['a;rm'] })).toThrow(/not allowed/);
  });

  it('derives a stable, locally administered MAC from the guest IP', () => {
    expect(guestMac('198.18.0.100')).toBe('52:54:00:12:00:64');
    expect(guestMac('198.19.1.2')).toBe('52:54:00:13:01:02');
    expect(guestMac('198.18.0.100')).not.toBe(guestMac('198.18.0.101'));
  });
});
