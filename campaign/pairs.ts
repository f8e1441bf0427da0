/**
 * A campaign's lanes: its host pairs, each with the hypervisor it runs (the pair's own, else the
 * campaign's). Pairs of different kinds run side by side; a host belongs to one kind only.
 */
import type { CampaignSpec, Hypervisor } from './spec.js';

export interface LanePair {
  src: string;
  dst: string;
  hypervisor: Hypervisor;
}

/** The pairs as listed (by default the first two hosts), each with its hypervisor. */
export function lanePairs(spec: Pick<CampaignSpec, 'pairs' | 'hypervisor'>, hostNames: readonly string[]): LanePair[] {
  const pairs = spec.pairs ?? [[hostNames[0]!, hostNames[1]!] as [string, string]];
  return pairs.map(([src, dst, hypervisor]) => ({ src, dst, hypervisor: hypervisor ?? spec.hypervisor }));
}

/** Every hypervisor the campaign's pairs run, in the order first named. */
export function hypervisorsOf(spec: Pick<CampaignSpec, 'pairs' | 'hypervisor'>): Hypervisor[] {
  const kinds = spec.pairs ? spec.pairs.map((p) => p[2] ?? spec.hypervisor) : [spec.hypervisor];
  return [...new Set(kinds)];
}

/** Every pair runs Xen: xl's fixed settings hold for every trial (beside other kinds, only for the Xen pairs'). */
export const onlyXen = (spec: Pick<CampaignSpec, 'pairs' | 'hypervisor'>): boolean => hypervisorsOf(spec).every((k) => k === 'xen');

/** Which hypervisor a host runs: its pairs' kind; a host in no pair takes the campaign's. */
export function hostKind(pairs: readonly LanePair[], campaign: Hypervisor): (host: string) => Hypervisor {
  const m = new Map<string, Hypervisor>();
  for (const p of pairs) for (const h of [p.src, p.dst]) m.set(h, p.hypervisor);
  return (host) => m.get(host) ?? campaign;
}

/** The campaign's hypervisors as one label: `qemu`, or `qemu+libvirt` for pairs of both kinds. */
export const hypervisorLabel = (spec: Pick<CampaignSpec, 'pairs' | 'hypervisor'>): string => hypervisorsOf(spec).join('+');
