import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine, quote } from '../activities/ssh/shell-quote.js';

describe('shell quoting', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(quote('qemu-system-x86_64')).toBe('qemu-system-x86_64');
    expect(quote('/a/b.qmp')).toBe('/a/b.qmp');
    expect(quote('')).toBe("''");
    expect(quote('a b')).toBe("'a b'");
    expect(quote("it's")).toBe(`'it'\\''s'`);
  });

  it('round-trips hostile arguments through a real shell unchanged', () => {
    const args = ['$(touch /tmp/pwned)', '`id`', "a'b\"c", 'x; rm -rf /', '*', '\n', 'tab\there', '-e', '&&', '|', '\\'];
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${commandLine(args)}`], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(args);
  });
});
