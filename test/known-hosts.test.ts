import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostName, keyTypeOf, parseKnownHosts, verifyHostKey } from '../activities/ssh/known-hosts.js';

// A made-up ed25519 wire blob: string "ssh-ed25519" then a 32-byte key.
function blob(seed: number): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const key = Buffer.alloc(32, seed);
  const b = Buffer.alloc(4 + type.length + 4 + key.length);
  b.writeUInt32BE(type.length, 0);
  type.copy(b, 4);
  b.writeUInt32BE(key.length, 4 + type.length);
  key.copy(b, 8 + type.length);
  return b;
}
const b64 = (n: number) => blob(n).toString('base64');

describe('known_hosts', () => {
  it('accepts the matching key and rejects another, naming the lines', () => {
    const entries = parseKnownHosts(`# comment\n198.18.0.10 ssh-ed25519 ${b64(1)}\n\n198.18.0.11,hostb ssh-ed25519 ${b64(2)}\n`);
    expect(verifyHostKey(entries, '198.18.0.10', 22, blob(1))).toEqual({ ok: true, line: 2 });
    expect(verifyHostKey(entries, 'hostb', 22, blob(2))).toEqual({ ok: true, line: 4 });
    const bad = verifyHostKey(entries, '198.18.0.10', 22, blob(2));
    expect(bad).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(!bad.ok && bad.detail).toContain('lines 2');
  });

  it('says why a host vouched for only by an @cert-authority line is refused', () => {
    const entries = parseKnownHosts(`@cert-authority [*.lab.example]:2222 ssh-ed25519 ${b64(7)}\n198.18.0.10 ssh-ed25519 ${b64(1)}\n`);
    const v = verifyHostKey(entries, 'a.lab.example', 2222, blob(3));
    expect(v).toMatchObject({ ok: false, reason: 'unknown-host' });
    expect(!v.ok && v.detail).toBe("no known_hosts entry for [a.lab.example]:2222 but an @cert-authority line (line 1), and miglab checks host keys, not host certificates: add the host's own key (ssh-keyscan -p 2222 a.lab.example)");
    // the CA's own key is never taken for a host key, and other hosts read as before
    expect(verifyHostKey(entries, 'a.lab.example', 2222, blob(7))).toMatchObject({ ok: false, reason: 'unknown-host' });
    expect(verifyHostKey(entries, '198.18.0.10', 22, blob(1))).toEqual({ ok: true, line: 2 });
  });

  it('treats an unlisted host as unknown, not as trusted', () => {
    const entries = parseKnownHosts(`198.18.0.10 ssh-ed25519 ${b64(1)}\n`);
    expect(verifyHostKey(entries, '198.18.0.12', 22, blob(1))).toMatchObject({ ok: false, reason: 'unknown-host' });
  });

  it('uses the [host]:port form for ports other than 22', () => {
    const entries = parseKnownHosts(`[198.18.0.10]:2222 ssh-ed25519 ${b64(1)}\n`);
    expect(hostName('198.18.0.10', 2222)).toBe('[198.18.0.10]:2222');
    expect(verifyHostKey(entries, '198.18.0.10', 2222, blob(1)).ok).toBe(true);
    expect(verifyHostKey(entries, '198.18.0.10', 22, blob(1)).ok).toBe(false);
  });

  it('matches hashed entries (ssh-keygen -H) and wildcards with negation', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('198.18.0.10').digest();
    const entries = parseKnownHosts(
      `|1|${salt.toString('base64')}|${hash.toString('base64')} ssh-ed25519 ${b64(1)}\n198.18.1.*,!198.18.1.5 ssh-ed25519 ${b64(3)}\n`,
    );
    expect(verifyHostKey(entries, '198.18.0.10', 22, blob(1)).ok).toBe(true);
    expect(verifyHostKey(entries, '198.18.0.11', 22, blob(1)).ok).toBe(false);
    expect(verifyHostKey(entries, '198.18.1.7', 22, blob(3)).ok).toBe(true);
    expect(verifyHostKey(entries, '198.18.1.5', 22, blob(3))).toMatchObject({ ok: false, reason: 'unknown-host' });
  });

  it('refuses a @revoked key even where another line lists it', () => {
    const entries = parseKnownHosts(`@revoked * ssh-ed25519 ${b64(1)}\n198.18.0.10 ssh-ed25519 ${b64(1)}\n`);
    expect(verifyHostKey(entries, '198.18.0.10', 22, blob(1))).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('reads the key type from the wire blob', () => {
    expect(keyTypeOf(blob(1))).toBe('ssh-ed25519');
  });
});
