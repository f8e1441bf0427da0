import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTemporalTarget } from '../server/connection.js';
import { UserError } from '../lib/errors.js';

describe('which Temporal server', () => {
  const noFile = { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'miglab-no-such-temporal.toml') };

  it('uses the embedded dev server when nothing names another', () => {
    const t = resolveTemporalTarget({ ...noFile });
    expect(t.kind).toBe('embedded');
  });

  it('follows TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_API_KEY (API key implies TLS)', () => {
    const t = resolveTemporalTarget({ ...noFile, TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'lab', TEMPORAL_API_KEY: 'k' });
    expect(t).toMatchObject({ kind: 'external', namespace: 'lab', connectionOptions: { address: 'temporal.example:7233', apiKey: 'k', tls: true } });
  });

  it('reads a named profile from the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'miglab-envconfig-'));
    const file = join(dir, 'temporal.toml');
    writeFileSync(file, '[profile.lab]\naddress = "cluster.internal:7233"\nnamespace = "migration"\n');
    const t = resolveTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'lab' });
    expect(t).toMatchObject({ kind: 'external', namespace: 'migration', profile: 'lab', connectionOptions: { address: 'cluster.internal:7233' } });
  });

  it('names the fix when the profile does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'miglab-envconfig-'));
    const file = join(dir, 'temporal.toml');
    writeFileSync(file, '[profile.other]\naddress = "x:1"\n');
    expect(() => resolveTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'lab' })).toThrow(UserError);
    expect(() => resolveTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'lab' })).toThrow(/lab/);
  });
});
