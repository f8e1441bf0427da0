/** scripts/setup.sh on a plain Debian 12 (Node 18, Go 1.19): it names what to install and changes nothing. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SETUP = join(import.meta.dirname, '..', 'scripts', 'setup.sh');

/** A folder of stand-ins for `node` and `go` that report the given versions (the rest of PATH is the system's). */
function fakeTools(node: string | null, go: string | null): string {
  const bin = mkdtempSync(join(tmpdir(), 'miglab-fake-tools-'));
  const tool = (name: string, script: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // the few system tools setup uses before its checks, and no other node or go
  for (const t of ['dirname', 'sort', 'head', 'sed']) symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(bin, t));
  if (node) tool('node', `echo ${node}`);
  if (go) tool('go', `[ "$1 $2" = "env GOVERSION" ] && echo go${go}`);
  return bin;
}

function setup(bin: string) {
  const state = mkdtempSync(join(tmpdir(), 'miglab-setup-state-'));
  // only the stand-ins on PATH; /usr/local/go (where go.dev's tarball goes) hidden too
  const r = spawnSync('/bin/bash', [SETUP], { encoding: 'utf8', env: { PATH: bin, MIGLAB_STATE_DIR: state, HOME: state, MIGLAB_SETUP_NO_USR_LOCAL_GO: '1' }, timeout: 30_000 });
  return { ...r, state };
}

describe('setup.sh prerequisites (stand-in node and go)', () => {
  it("Debian 12's Node 18 and Go 1.19: exit 2, both named with what to install, nothing changed", () => {
    const r = setup(fakeTools('18.19.0', '1.19.8'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Node.js 18.19.0 is too old: install Node.js 20.19 or later');
    expect(r.stderr).toContain('Go 1.19.8 is too old to build the Temporal CLI v1.5.1: install Go 1.25 or later');
    expect(r.stderr).toContain('nothing was changed');
    expect(readdirSync(r.state)).toEqual([]); // no keys, no guest, no CLI
  });

  it('no Node and no Go at all', () => {
    const r = setup(fakeTools(null, null));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Node.js is not installed');
    expect(r.stderr).toContain('no Temporal CLI and no Go to build it');
  });
});
