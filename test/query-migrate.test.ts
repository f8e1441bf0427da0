/**
 * query-migrate read as the source of an outgoing move: the shapes QEMU 7.2 returned on the bed
 * (test/lab.e2e.test.ts moves a guest there and back) for a QEMU that arrived by migration.
 */
import { describe, expect, it } from 'vitest';
import { outgoing, type QueryMigrate } from '../activities/qemu/backend.js';

const ram = { transferred: 74_830_187, remaining: 0, total: 268_976_128, 'dirty-sync-count': 3, mbps: 1084, 'dirty-pages-rate': 0 };

describe('outgoing: query-migrate as the source sees it', () => {
  it("takes an arrived QEMU's 'completed' without figures for no migration yet, so a move is started and followed, not taken for finished", () => {
    expect(outgoing({ status: 'completed' })).toEqual({ status: 'none' });
  });

  it('keeps a move under way and one that finished (with its figures) as QEMU says', () => {
    const active: QueryMigrate = { status: 'active', 'total-time': 106, ram: { ...ram, transferred: 331_998 } };
    expect(outgoing(active)).toBe(active);
    const done: QueryMigrate = { status: 'completed', 'total-time': 670, downtime: 12, ram };
    expect(outgoing(done)).toBe(done);
    for (const status of ['setup', 'failed', 'cancelled', 'pre-switchover', 'postcopy-active']) expect(outgoing({ status })).toEqual({ status });
  });
});
