/**
 * Where a result came from: which miglab (version and commit), which campaign file (its sha256),
 * which guest image, and what each host ran it with (kernel, CPU, hypervisor version, accelerator).
 * The campaign's manifest carries the run's; each trial row carries its own hosts' at recording.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { release } from 'node:os';
import type { HostProvenance } from '../activities/host-provenance.js';
import { miglabVersion, type MiglabVersion } from '../lib/version.js';

export interface RunProvenance {
  miglab: MiglabVersion;
  campaignFile: { path: string; sha256: string };
  /** the guest's kernel and initrd as the controller sees them (null: not readable here, e.g. on the hosts only) */
  guestImage: { kernel: FileDigest | null; initrd: FileDigest | null; disk?: FileDigest | null };
  controller: { node: string; kernel: string };
  hosts: HostProvenance[];
  /** when this run of the campaign started (a resumed campaign has had several) */
  startedAt: string;
  /** when it ended (absent while it runs, or when it was stopped before the campaign closed) */
  endedAt?: string;
}

export interface FileDigest {
  path: string;
  sha256: string;
}

/** A trial row's own record: its hosts as they were when it was recorded. */
export interface TrialProvenance {
  miglab: MiglabVersion;
  campaignFileSha256: string;
  src: HostProvenance | null;
  dst: HostProvenance | null;
  recordedAt: string;
  /** the worker (`<controller>:<pid>`) that wrote the row; absent in rows before miglab 0.7 */
  recordedBy?: string;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')));
  });
}

const digestIfHere = async (path: string): Promise<FileDigest | null> => (existsSync(path) ? { path, sha256: await sha256File(path) } : null);

export async function runProvenance(o: { campaignFile: string; guestKernel: string; guestInitrd: string; guestDisk?: string; hosts: HostProvenance[] }): Promise<RunProvenance> {
  return {
    miglab: miglabVersion(),
    campaignFile: { path: o.campaignFile, sha256: await sha256File(o.campaignFile) },
    // the disk image that every VM's overlay starts from (a few seconds to digest for a GiB)
    guestImage: { kernel: await digestIfHere(o.guestKernel), initrd: await digestIfHere(o.guestInitrd), ...(o.guestDisk ? { disk: await digestIfHere(o.guestDisk) } : {}) },
    controller: { node: process.version, kernel: release() },
    hosts: o.hosts,
    startedAt: new Date().toISOString(),
  };
}
