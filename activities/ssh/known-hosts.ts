/**
 * known_hosts parsing and host-key checks, so that every SSH connection miglab opens verifies the
 * server's key (plain and hashed `|1|salt|hash` entries, `[host]:port` forms, @revoked markers).
 */
import { createHmac } from 'node:crypto';

export interface KnownHostEntry {
  patterns: string[] | { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  revoked: boolean;
  /**
   * an @cert-authority line: trusts host certificates signed by this key. miglab's SSH client
   * checks plain host keys only, so such a line never admits a host; a host that relies on one is
   * refused with that said.
   */
  certAuthority: boolean;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let fields = line.split(/\s+/);
    let revoked = false;
    let certAuthority = false;
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@revoked') revoked = true;
      else if (fields[0] === '@cert-authority') certAuthority = true;
      else return; // a marker OpenSSH does not know either
      fields = fields.slice(1);
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64) return;
    const key = Buffer.from(keyB64, 'base64');
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) return;
      entries.push({ patterns: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') }, keyType, key, revoked, certAuthority, line: i + 1 });
    } else {
      entries.push({ patterns: hosts.split(','), keyType, key, revoked, certAuthority, line: i + 1 });
    }
  });
  return entries;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (Array.isArray(entry.patterns)) {
    let matched = false;
    for (const p of entry.patterns) {
      if (p.startsWith('!')) {
        if (globMatch(p.slice(1), name)) return false;
      } else if (globMatch(p, name)) {
        matched = true;
      }
    }
    return matched;
  }
  const h = createHmac('sha1', entry.patterns.salt).update(name).digest();
  return h.equals(entry.patterns.hash);
}

export type HostKeyVerdict =
  | { ok: true; line: number }
  | { ok: false; reason: 'unknown-host' | 'mismatch' | 'revoked'; detail: string };

/** Checks a server key (the raw SSH wire-format blob) against known_hosts entries for host:port. */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = hostName(host, port);
  const revoked = entries.find((e) => e.revoked && e.key.equals(key));
  if (revoked) return { ok: false, reason: 'revoked', detail: `the key of ${name} is marked @revoked (line ${revoked.line})` };
  const forHost = entries.filter((e) => !e.revoked && !e.certAuthority && entryMatches(e, name));
  if (forHost.length === 0) {
    const ca = entries.find((e) => e.certAuthority && entryMatches(e, name));
    if (ca) return { ok: false, reason: 'unknown-host', detail: `no known_hosts entry for ${name} but an @cert-authority line (line ${ca.line}), and miglab checks host keys, not host certificates: add the host's own key (ssh-keyscan ${name.replace(/^\[(.*)\]:(\d+)$/, '-p $2 $1')})` };
    return { ok: false, reason: 'unknown-host', detail: `no known_hosts entry for ${name}` };
  }
  const match = forHost.find((e) => e.key.equals(key));
  if (match) return { ok: true, line: match.line };
  return {
    ok: false,
    reason: 'mismatch',
    detail: `the key presented by ${name} does not match known_hosts (lines ${forHost.map((e) => e.line).join(', ')})`,
  };
}

/** The key type named inside an SSH public-key blob (its first length-prefixed string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('ascii');
}
