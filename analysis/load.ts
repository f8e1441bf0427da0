/**
 * Reads a campaign's results store for the report: its manifest and every recorded trial row.
 * Only the store is read; no host or server is touched. A store that is missing, not a store, or
 * holds a damaged row is refused with what is wrong and where, never reported as if complete.
 */
import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../lib/errors.js';
import type { CampaignManifest } from '../results/manifest.js';
import { ResultsStore } from '../results/store.js';
import type { TrialRow } from '../workflows/trial-types.js';

export interface LoadedCampaign {
  dir: string;
  manifest: CampaignManifest;
  rows: TrialRow[];
  /** expected by the manifest but not recorded yet (a running or interrupted campaign) */
  missing: string[];
}

const OUTCOMES = new Set(['converged', 'offline', 'failed']);

/** What is wrong with a parsed row file, or null when it has the shape of a trial row. */
function rowProblem(v: unknown): string | null {
  const o = v as { trialId?: unknown; row?: Partial<TrialRow> } | null;
  if (!o || typeof o.trialId !== 'string' || !o.row || typeof o.row !== 'object') return 'it is not a {trialId, row} record';
  const r = o.row;
  if (r.trialId !== o.trialId) return `its row names trial "${String(r.trialId)}", its record "${o.trialId}"`;
  if (!r.outcome || !OUTCOMES.has(r.outcome.kind)) return 'its outcome is missing or of an unknown kind';
  if (r.outcome.kind !== 'failed' && (!r.metrics || typeof r.metrics.tmtMs !== 'number')) return `it ${r.outcome.kind} but has no metrics`;
  if (!Array.isArray(r.attempts)) return 'it lists no attempts';
  return null;
}

/**
 * `fromSpec` is the manifest the campaign file implies: used when the store has none (results
 * recorded before miglab wrote manifests); a manifest in the store wins.
 */
export async function loadCampaignResults(dir: string, fromSpec?: CampaignManifest): Promise<LoadedCampaign> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new UserError(`results directory ${dir} does not exist`, 'pass the `results:` directory of a campaign that has run (or its campaign file), e.g. `miglab report campaigns/paper.yaml`');
  const store = new ResultsStore(dir);
  let manifest: CampaignManifest | null;
  try {
    manifest = (await store.readManifest()) ?? fromSpec ?? null;
  } catch (err) {
    throw new UserError(`${store.manifestPath} is damaged: ${(err as Error).message}`, 'rerun `miglab run <campaign.yaml>` (it rewrites the manifest and skips recorded trials), or report from the campaign file: `miglab report <campaign.yaml>`');
  }
  const trialsDir = store.trialsDir;
  const files = await store.listTrialFiles();
  if (!manifest && !files) throw new UserError(`${dir} is not a miglab results directory: it has neither campaign.json nor trials/`, 'point at the directory a campaign\'s `results:` names');
  if (!manifest) throw new UserError(`${dir} has trial rows but no campaign.json (the manifest \`miglab run\` writes), so what was expected is unknown`, `report from the campaign file instead: \`miglab report <campaign.yaml> --results ${dir}\``);

  const rows: TrialRow[] = [];
  const damaged: string[] = [];
  for (const file of files?.rows ?? []) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      damaged.push(`${file}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const problem = rowProblem(parsed);
    if (problem) damaged.push(`${file}: ${problem}`);
    else rows.push((parsed as { row: TrialRow }).row);
  }
  if (damaged.length) {
    throw new UserError(
      `${damaged.length} trial row(s) in ${trialsDir} cannot be read:\n  ${damaged.join('\n  ')}`,
      'miglab writes rows whole (write, fsync, link), so these were changed by something else: restore them from a backup, or move them aside and rerun the campaign to measure those trials again',
    );
  }
  const expected = new Set(manifest.trials.map((t) => t.id));
  const stray = rows.filter((r) => !expected.has(r.trialId)).map((r) => r.trialId);
  if (stray.length) throw new UserError(`${trialsDir} holds rows the manifest does not expect: ${stray.join(', ')}`, 'keep one campaign per results directory: move those rows to their own campaign\'s directory');
  if (rows.length === 0) throw new UserError(`campaign ${manifest.campaign} has no trial recorded yet in ${trialsDir}`, 'wait for its first trial to finish (`miglab run` shows progress), then report again');
  const recorded = new Set(rows.map((r) => r.trialId));
  return { dir, manifest, rows, missing: manifest.trials.map((t) => t.id).filter((id) => !recorded.has(id)) };
}
