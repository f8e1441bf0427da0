/** Pid files in a folder several controllers share (the probe's, in the results store). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localPidFromSharedFile, sharedPidLine } from '../lib/process.js';

const dir = mkdtempSync(join(tmpdir(), 'miglab-shared-pid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('a pid file another controller may have written', () => {
  it("this machine's pid is read back; another machine's is none of ours, whatever its number", () => {
    expect(localPidFromSharedFile(file('mine', sharedPidLine(4242)))).toBe(4242);
    expect(localPidFromSharedFile(file('theirs', `not-${hostname()} ${process.pid}\n`))).toBeUndefined();
  });
  it('a bare pid (written before pid files named their machine) is this machine\'s; garbage and no file are none', () => {
    expect(localPidFromSharedFile(file('bare', '31337\n'))).toBe(31337);
    expect(localPidFromSharedFile(file('garbage', `${hostname()} twelve`))).toBeUndefined();
    expect(localPidFromSharedFile(join(dir, 'absent'))).toBeUndefined();
  });
});
