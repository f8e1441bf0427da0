/** verify's store checks on planted faults: each detector fires on its fault, and only on it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStore, type CampaignState } from '../cli/verify.js';
import { ResultsStore } from '../results/store.js';

const ids = ['c/ramp/4MiB/r1', 'c/ramp/8MiB/r1', 'c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'];

async function planted(): Promise<ResultsStore> {
  const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-verify-')));
  await store.recordTrial(ids[0]!, { tmtMs: 1 });
  // measured twice: the second, different row is kept as a duplicate
  await store.recordTrial(ids[1]!, { tmtMs: 2 });
  await store.recordTrial(ids[1]!, { tmtMs: 3 });
  // a writer that died between writing its temporary file and linking it
  writeFileSync(join(store.trialsDir, `.${encodeURIComponent(ids[2]!)}.json.4242.deadbeef.tmp`), '{"trialId": "c/ramp/16MiB/r1", "ro');
  return store; // ids[3]: nothing at all
}

describe('verify: the results store against the campaign', () => {
  it('a completed campaign: the unrecorded trials are lost; the duplicate and the half-written row are found', async () => {
    const r = await checkStore(await planted(), ids, { state: 'COMPLETED' });
    expect(r).toEqual({
      expected: 4,
      recorded: 2,
      lost: ['c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'],
      notRun: [],
      pending: [],
      unaccounted: [],
      duplicated: ['c/ramp/8MiB/r1'],
      halfWritten: [`.${encodeURIComponent('c/ramp/16MiB/r1')}.json.4242.deadbeef.tmp`],
    });
  });

  it('a cancelled, a running and an unknown campaign: the same trials are not run, pending, or unaccounted — never lost', async () => {
    const store = await planted();
    const by = async (c: CampaignState) => checkStore(store, ids, c);
    expect(await by({ state: 'CANCELLED' })).toMatchObject({ lost: [], notRun: ['c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'] });
    expect(await by({ state: 'TERMINATED' })).toMatchObject({ lost: [], notRun: ['c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'] });
    expect(await by({ state: 'RUNNING' })).toMatchObject({ lost: [], pending: ['c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'] });
    expect(await by({ state: 'unknown', reason: 'no server' })).toMatchObject({ lost: [], unaccounted: ['c/ramp/16MiB/r1', 'c/ramp/32MiB/r1'] });
  });

  it('a clean store: nothing to report', async () => {
    const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'miglab-verify-')));
    for (const id of ids) await store.recordTrial(id, { id });
    await store.recordTrial(ids[0]!, { id: ids[0] }); // a retried write of the same row is no duplicate
    expect(await checkStore(store, ids, { state: 'COMPLETED' })).toMatchObject({ recorded: 4, lost: [], duplicated: [], halfWritten: [] });
  });
});
