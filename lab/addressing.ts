/**
 * Address plan of a test bed. Every address comes from 198.18.0.0/15 (RFC 2544 benchmarking
 * space) and lives only inside namespaces the bed creates; nothing here routes anywhere else.
 */
import { UserError } from '../lib/errors.js';

export const BENCHMARK_NET = '198.18.0.0/15';

export interface Cidr {
  network: number; // host-order integer, aligned to the prefix
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new UserError(`"${ip}" is not an IPv4 address`, 'write four numbers 0-255 separated by dots, e.g. 198.18.0.10');
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new UserError(`"${text}" is not a CIDR block`, 'write it as ADDRESS/PREFIX, e.g. 198.18.0.0/24');
  const prefix = Number(m[2]);
  if (prefix > 32) throw new UserError(`prefix /${prefix} in "${text}" is larger than 32`, 'use a prefix from 16 to 29');
  const ip = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  if (ip % size !== 0) {
    throw new UserError(`"${text}" has host bits set`, `use ${intToIp(ip - (ip % size))}/${prefix}`);
  }
  return { network: ip, prefix };
}

export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix);
export const formatCidr = (c: Cidr): string => `${intToIp(c.network)}/${c.prefix}`;

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.network >= outer.network &&
    inner.network + cidrSize(inner) <= outer.network + cidrSize(outer);
}

export function ipInCidr(ip: string, c: Cidr): boolean {
  const n = ipToInt(ip);
  return n >= c.network && n < c.network + cidrSize(c);
}

/** Offsets inside the bed subnet: .1 controller, .10+ hosts, .60+ hosts' Xen dom0s, .100+ guests. */
const CONTROLLER_OFFSET = 1;
const HOST_OFFSET = 10;
const XEN_DOM0_OFFSET = 60;
/** a bed with Xen hosts: each host's dom0 takes an address above the hosts' own */
export const MAX_XEN_HOSTS = XEN_DOM0_OFFSET - HOST_OFFSET;
const GUEST_OFFSET = 100;
export const MAX_HOSTS = GUEST_OFFSET - HOST_OFFSET;

const NAME_RE = /^[a-z][a-z0-9]{0,7}$/;

export interface HostAddress {
  name: string;
  ip: string;
  /** network namespace that is this host */
  netns: string;
  /** the switch port (in the switch namespace) that this host's uplink plugs into */
  switchPort: string;
}

export interface BedPlan {
  bed: string;
  subnet: string;
  prefix: number;
  controllerIp: string;
  /** the controller's veth in the root namespace: the one interface the bed adds outside its namespaces */
  controllerIf: string;
  switchNetns: string;
  hosts: HostAddress[];
  firstGuestIp: string;
  lastGuestIp: string;
}

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new UserError(
      `${kind} name "${name}" is not allowed`,
      `use 1-8 lower-case letters or digits, starting with a letter (it becomes part of interface names, limited to 15 characters)`,
    );
  }
}

/** The controller's veth for a bed; known from the bed's name alone so `down` works without a plan. */
export function controllerIfName(bed: string): string {
  checkName('bed', bed);
  return `mlc-${bed}`;
}

export function planBed(opts: { bed: string; subnet: string; hosts: readonly string[] }): BedPlan {
  checkName('bed', opts.bed);
  const subnet = parseCidr(opts.subnet);
  const allowed = parseCidr(BENCHMARK_NET);
  if (!cidrContains(allowed, subnet)) {
    throw new UserError(
      `bed subnet ${opts.subnet} is outside ${BENCHMARK_NET}`,
      `choose a block inside ${BENCHMARK_NET} (the benchmarking range), e.g. 198.18.0.0/24; the bed never uses other addresses`,
    );
  }
  if (subnet.prefix > 24) {
    throw new UserError(`bed subnet ${opts.subnet} is too small`, 'use a /24 or larger: the plan needs .1 (controller), .10+ (hosts), .100+ (guests)');
  }
  if (opts.hosts.length < 1) throw new UserError('the bed has no hosts', 'name at least two hosts, e.g. hosta,hostb');
  if (opts.hosts.length > MAX_HOSTS) throw new UserError(`the bed has ${opts.hosts.length} hosts`, `use at most ${MAX_HOSTS}`);
  const seen = new Set<string>();
  for (const h of opts.hosts) {
    checkName('host', h);
    if (seen.has(h)) throw new UserError(`host "${h}" appears twice`, 'give every host a different name');
    seen.add(h);
  }
  const base = subnet.network;
  return {
    bed: opts.bed,
    subnet: formatCidr(subnet),
    prefix: subnet.prefix,
    controllerIp: intToIp(base + CONTROLLER_OFFSET),
    controllerIf: controllerIfName(opts.bed),
    switchNetns: `miglab-${opts.bed}-sw`,
    hosts: opts.hosts.map((name, i) => ({
      name,
      ip: intToIp(base + HOST_OFFSET + i),
      netns: `miglab-${opts.bed}-${name}`,
      switchPort: `p-${name}`,
    })),
    firstGuestIp: intToIp(base + GUEST_OFFSET),
    lastGuestIp: intToIp(base + cidrSize(subnet) - 2),
  };
}

/** The address of the dom0 of the Xen host that runs on the bed's index-th host. */
export function xenDom0Ip(plan: BedPlan, index: number): string {
  if (plan.hosts.length > MAX_XEN_HOSTS) {
    throw new UserError(`bed "${plan.bed}" has ${plan.hosts.length} hosts; Xen hosts fit beside at most ${MAX_XEN_HOSTS}`, `use at most ${MAX_XEN_HOSTS} hosts for a Xen campaign`);
  }
  return intToIp(parseCidr(plan.subnet).network + XEN_DOM0_OFFSET + index);
}

/** The n-th guest address of the bed (0-based), refusing to run past the pool. */
export function guestIp(plan: BedPlan, index: number): string {
  const n = ipToInt(plan.firstGuestIp) + index;
  if (!Number.isInteger(index) || index < 0 || n > ipToInt(plan.lastGuestIp)) {
    throw new UserError(`guest #${index} does not fit the bed's pool ${plan.firstGuestIp}-${plan.lastGuestIp}`, 'use fewer guests or a larger bed subnet');
  }
  return intToIp(n);
}

/** A locally administered MAC derived from the guest IP, so a guest keeps its MAC and IP on every host. */
export function guestMac(ip: string): string {
  const n = ipToInt(ip);
  const bytes = [0x52, 0x54, 0x00, Math.floor(n / 65536) % 256, Math.floor(n / 256) % 256, n % 256];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
