import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { campaignYaml } from '../campaign/builder.js';
import { parseCampaign } from '../campaign/load.js';

describe('the typed campaign builder', () => {
  it("writes a file the loader reads back as the paper campaign's own file", () => {
    const paper = parseCampaign(readFileSync(join(import.meta.dirname, '..', 'campaigns', 'paper.yaml'), 'utf8'), 'paper.yaml');
    const built = campaignYaml({
      campaign: 'paper', bed: 'lab', hypervisor: 'qemu', vm: { memoryMiB: 256, vcpus: 1 },
      scenarios: [{ name: 'baseline', kind: 'baseline' }, { name: 'dirty-ramp', kind: 'dirty-ramp', workingSetsMiB: [4, 8, 16, 24, 32, 40, 48, 64], rate: 'max', pattern: 'seq' }],
      repetitions: 3,
      migration: { bandwidthMiBps: 112, downtimeLimitMs: 300, completionTimeoutSPerGiB: 800, stall: { iterations: 10 } },
      ladder: [{ step: 'raise-downtime', downtimeLimitMs: 1000 }, { step: 'auto-converge' }],
      fallback: 'offline', probe: { intervalMs: 10 }, results: '../.miglab/results/paper',
    }, 'the paper campaign, built');
    expect(built.startsWith('# the paper campaign, built\n')).toBe(true);
    expect(parseCampaign(built, 'built.yaml')).toEqual(paper);
  });

  it('is checked like any file: a value the schema refuses is refused with its place', () => {
    expect(() => parseCampaign(campaignYaml({ campaign: 'x', bed: 'lab', vm: { memoryMiB: 256 }, scenarios: [{ name: 'b', kind: 'baseline' }], migration: { bandwidthMiBps: -1 } }), 'x.yaml')).toThrow(/x\.yaml:\d+:\d+: migration\.bandwidthMiBps/);
  });
});

describe('campaigns/own-hosts.example.yaml', () => {
  it('is a valid campaign on two own hosts (its key files are the user\'s to supply), with the accelerator left to the probe', () => {
    const spec = parseCampaign(readFileSync(join(import.meta.dirname, '..', 'campaigns', 'own-hosts.example.yaml'), 'utf8'), 'own-hosts.example.yaml');
    expect(spec.hosts!.map((h) => [h.name, h.address, h.bridge, h.runDir])).toEqual([['a', '10.0.0.11', 'br0', '/var/lib/miglab/run'], ['b', '10.0.0.12', 'br0', '/var/lib/miglab/run']]);
    expect(spec.vm).toMatchObject({ accel: 'auto', cpu: 'qemu64', guest: { addresses: ['10.0.0.50/24'] } });
    expect(spec.bed).toBeUndefined();
  });
});
