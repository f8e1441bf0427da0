/**
 * The results store: one folder per campaign, one file per trial row (written exactly once), and
 * beside it the raw series of every attempt (query-migrate polls, probe replies, heartbeats) for
 * later plotting. Bulky data goes here, never into workflow history.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { MANIFEST_FORMAT, type CampaignManifest } from './manifest.js';
import { expandTrials } from '../campaign/trials.js';
import { join } from 'node:path';

const fileNameOf = (trialId: string) => encodeURIComponent(trialId) + '.json';

export class ResultsStore {
  constructor(readonly dir: string) {}

  get trialsDir(): string {
    return join(this.dir, 'trials');
  }

  get manifestPath(): string {
    return join(this.dir, 'campaign.json');
  }

  /**
   * Writes the campaign's manifest (replacing an older one atomically: the spec may have grown).
   * The trials are not listed: they are the spec's, expanded again on reading (a campaign of
   * 100,000 trials would list 25 MB); their count is.
   */
  async writeManifest(m: CampaignManifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.manifestPath}.${process.pid}.tmp`;
    const { trials, ...rest } = m;
    await writeFile(tmp, JSON.stringify({ ...rest, trialCount: trials.length }, null, 2) + '\n');
    await rename(tmp, this.manifestPath);
  }

  /** The manifest, or null when the campaign never wrote one. */
  async readManifest(): Promise<CampaignManifest | null> {
    let text: string;
    try {
      text = await readFile(this.manifestPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const stored = JSON.parse(text) as Omit<CampaignManifest, 'trials'> & { trials?: CampaignManifest['trials']; trialCount?: number };
    if (stored?.format !== MANIFEST_FORMAT) throw new Error(`${this.manifestPath} is not a miglab campaign manifest (format ${String(stored?.format)})`);
    // manifests before miglab 0.7 list their trials; later ones are expanded from their spec
    const { trialCount: _count, ...m } = stored;
    return { ...m, trials: m.trials ?? expandTrials(m.spec) };
  }

  /** A trial's raw folder: its attempts, probe and consoles live below it. */
  trialRawDir(trialId: string): string {
    return join(this.dir, 'raw', encodeURIComponent(trialId));
  }

  rawDir(trialId: string, attempt: number): string {
    return join(this.trialRawDir(trialId), `attempt-${attempt}`);
  }

  /** Where a second, different row for a recorded trial is kept (see recordTrial). */
  get duplicatesDir(): string {
    return join(this.dir, 'duplicates');
  }

  /**
   * Records a trial's row once. A retry with the same row is a no-op ('already-recorded'). A
   * different row for a recorded trial — the trial was measured twice — never replaces the first:
   * it is kept beside it in duplicates/ ('duplicate'), so nothing recorded is lost and `miglab
   * verify` reports the trial as duplicated.
   */
  async recordTrial(trialId: string, row: unknown): Promise<'recorded' | 'already-recorded' | 'duplicate'> {
    await mkdir(this.trialsDir, { recursive: true });
    const body = JSON.stringify({ trialId, row }, null, 2) + '\n';
    const final = join(this.trialsDir, fileNameOf(trialId));
    const tmp = join(this.trialsDir, `.${fileNameOf(trialId)}.${process.pid}.${createHash('sha1').update(body).digest('hex').slice(0, 8)}.tmp`);
    const fh = await open(tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC, 0o644);
    try {
      await fh.writeFile(body);
      await fh.sync(); // the row is on disk before it becomes visible under its name
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, final); // atomic and exclusive: fails if the trial is recorded already
      const d = await open(this.trialsDir, 'r');
      await d.sync().finally(() => d.close());
      return 'recorded';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await readFile(final, 'utf8');
      if (existing === body) return 'already-recorded';
      await mkdir(this.duplicatesDir, { recursive: true });
      // named by content: a retry of the same duplicate is kept once
      const dup = join(this.duplicatesDir, `${fileNameOf(trialId).replace(/\.json$/, '')}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.json`);
      await link(tmp, dup).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      return 'duplicate';
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Trial ids with a second, different row kept in duplicates/ (each id once, sorted). */
  async duplicatedTrials(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.duplicatesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return [...new Set(names.filter((n) => n.endsWith('.json')).map((n) => decodeURIComponent(n.replace(/\.[0-9a-f]{12}\.json$/, ''))))].sort();
  }

  /**
   * The row files (paths, sorted) and the temporary files of writes that never finished (a writer
   * that died between write and link); null when no trial folder exists yet.
   */
  async listTrialFiles(): Promise<{ rows: string[]; unfinished: string[] } | null> {
    let names: string[];
    try {
      names = (await readdir(this.trialsDir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const path = (n: string) => join(this.trialsDir, n);
    return {
      rows: names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map(path),
      unfinished: names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map(path),
    };
  }

  /** One trial's row, or undefined when it is not recorded. */
  async readTrial<Row = unknown>(trialId: string): Promise<Row | undefined> {
    try {
      return (JSON.parse(await readFile(join(this.trialsDir, fileNameOf(trialId)), 'utf8')) as { row: Row }).row;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async readTrials<Row = unknown>(): Promise<{ trialId: string; row: Row }[]> {
    const files = await this.listTrialFiles();
    return Promise.all((files?.rows ?? []).map(async (f) => JSON.parse(await readFile(f, 'utf8')) as { trialId: string; row: Row }));
  }

  /** Writes one raw series (e.g. `query-migrate.jsonl`) of an attempt (or, without one, of the trial). */
  async writeRaw(trialId: string, attempt: number | 'trial', name: string, content: string): Promise<string> {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`raw series name "${name}" is not a plain file name`);
    const dir = attempt === 'trial' ? this.trialRawDir(trialId) : this.rawDir(trialId, attempt);
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }
}
