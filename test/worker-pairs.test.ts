/** `miglab worker --pairs`: a controller serves only the pairs it names, each checked before anything starts. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serveCampaign } from '../cli/run.js';
import { UserError } from '../lib/errors.js';

describe('miglab worker --pairs', () => {
  it('refuses a pair the campaign does not have before anything starts (no bed brought up, no server asked)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miglab-pairs-'));
    const file = join(dir, 'two.yaml');
    writeFileSync(file, 'campaign: two\nbed: nosuchbed\npairs:\n  - [hosta, hostb]\n  - [hostc, hostd]\nvm:\n  memoryMiB: 256\nscenarios:\n  - name: baseline\n    kind: baseline\nmigration:\n  bandwidthMiBps: 112\n');
    const err = await serveCampaign({ file, pairs: ['hostc:hostd', 'hosta:hostc'], log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/--pairs names hosta:hostc, not a pair of .*two\.yaml/);
    expect((err as UserError).fix).toMatch(/hosta:hostb, hostc:hostd/);
  });
});
