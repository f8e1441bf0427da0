import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnDetached } from '../lib/exec.js';

describe('spawnDetached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miglab-exec-'));

  it('rejects with the reason when the program does not exist, instead of crashing the process', async () => {
    const fd = openSync(join(dir, 'a.log'), 'a');
    try {
      await expect(spawnDetached('miglab-no-such-program', [], fd)).rejects.toThrow('cannot start miglab-no-such-program: not found on PATH');
    } finally {
      closeSync(fd);
    }
  });

  it('starts a program with the environment it is given (the probe runs ping in the C locale)', async () => {
    const log = join(dir, 'b.log');
    const fd = openSync(log, 'a');
    let pid: number;
    try {
      pid = await spawnDetached('sh', ['-c', 'echo "LC_ALL=$LC_ALL"'], fd, { ...process.env, LC_ALL: 'C' });
    } finally {
      closeSync(fd);
    }
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 100 && !readFileSync(log, 'utf8'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(log, 'utf8')).toBe('LC_ALL=C\n');
  });
});
