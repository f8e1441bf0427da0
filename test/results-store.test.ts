import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultsStore } from '../results/store.js';
import { parseCampaign } from '../campaign/load.js';
import { manifestOf } from '../results/manifest.js';

const fresh = () => new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-results-')));

describe('results store', () => {
  it('records a trial row once and reads it back', async () => {
    const s = fresh();
    expect(await s.recordTrial('paper/dirty-ramp/32MiB/r2', { tmtMs: 1700 })).toBe('recorded');
    expect(await s.readTrials()).toEqual([{ trialId: 'paper/dirty-ramp/32MiB/r2', row: { tmtMs: 1700 } }]);
  });

  it('treats a retried write of the same row as done, and keeps a different row for the same trial as a duplicate', async () => {
    const s = fresh();
    await s.recordTrial('c/s/8MiB/r1', { tmtMs: 1 });
    expect(await s.recordTrial('c/s/8MiB/r1', { tmtMs: 1 })).toBe('already-recorded');
    // a different row for the same trial never replaces the first: kept beside it, and reported
    expect(await s.recordTrial('c/s/8MiB/r1', { tmtMs: 2 })).toBe('duplicate');
    expect(await s.recordTrial('c/s/8MiB/r1', { tmtMs: 2 })).toBe('duplicate');
    expect((await s.readTrials()).map((t) => t.row)).toEqual([{ tmtMs: 1 }]);
    expect(await s.duplicatedTrials()).toEqual(['c/s/8MiB/r1']);
    expect(await s.readTrials()).toEqual([{ trialId: 'c/s/8MiB/r1', row: { tmtMs: 1 } }]);
  });

  it('lets exactly one of many racing writers record a trial, leaving no temporary files', async () => {
    const s = fresh();
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.recordTrial('c/s/16MiB/r1', { writer: i })));
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'recorded').length).toBe(1);
    // the other 19 rows differ: each is kept as a duplicate, none replaces the first
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'duplicate').length).toBe(19);
    expect(readdirSync(join(s.dir, 'trials'))).toEqual([encodeURIComponent('c/s/16MiB/r1') + '.json']);
    expect(readdirSync(join(s.dir, 'duplicates'))).toHaveLength(19);
  });

  it('keeps raw series per trial and attempt, and refuses names that are paths', async () => {
    const s = fresh();
    const p = await s.writeRaw('c/s/8MiB/r1', 2, 'query-migrate.jsonl', '{"status":"active"}\n');
    expect(p).toContain(join('raw', encodeURIComponent('c/s/8MiB/r1'), 'attempt-2', 'query-migrate.jsonl'));
    expect(readFileSync(p, 'utf8')).toBe('{"status":"active"}\n');
    await expect(s.writeRaw('c/s/8MiB/r1', 1, '../escape', 'x')).rejects.toThrow(/not a plain file name/);
  });

  it("keeps a campaign's manifest without its trial list (they are its spec's, expanded on reading) and with their count", async () => {
    const s = fresh();
    const spec = parseCampaign('campaign: big\nbed: lab\nvm:\n  memoryMiB: 256\nscenarios:\n  - name: ramp\n    kind: dirty-ramp\n    workingSetsMiB: [8, 16]\nrepetitions: 500\nfactors:\n  xbzrle: [off, 64]\nmigration:\n  bandwidthMiBps: 112\n', 'big.yaml');
    const m = manifestOf(spec);
    expect(m.trials).toHaveLength(2000);
    await s.writeManifest(m);
    const stored = JSON.parse(readFileSync(s.manifestPath, 'utf8')) as Record<string, unknown>;
    expect(stored).not.toHaveProperty('trials');
    expect(stored.trialCount).toBe(2000);
    expect(await s.readManifest()).toEqual(m);
  });

  it('reads an empty store as no trials', async () => {
    expect(await fresh().readTrials()).toEqual([]);
  });
});
