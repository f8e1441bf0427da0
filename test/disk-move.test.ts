import { describe, expect, it } from 'vitest';
import { nbdBytesCommand, nbdPort } from '../activities/qemu/disk-move.js';

describe('moving a local disk', () => {
  it("serves the destination's NBD export at the VM's migration port + 10000", () => {
    expect(nbdPort({ migrationPort: 49152 })).toBe(59152);
    expect(nbdPort({ migrationPort: 49160 })).toBe(59160);
  });

  it("counts the NBD connection's acknowledged bytes with ss, the address quoted", () => {
    expect(nbdBytesCommand('198.18.20.12', 59152)).toBe("ss -tinH state established dst 198.18.20.12 dport = :59152 | grep -o 'bytes_acked:[0-9]*' | head -n 1 | cut -d: -f2");
    expect(nbdBytesCommand('1.2.3.4;reboot', 59152)).toContain("dst '1.2.3.4;reboot' ");
  });
});
