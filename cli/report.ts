/**
 * `miglab report <campaign.yaml | results-dir>...`: the report of one campaign, or of several side
 * by side (e.g. the same campaign on two hypervisors). Reads results stores only.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCampaignResults, type LoadedCampaign } from '../analysis/load.js';
import { writeReport, type WrittenReport } from '../analysis/report.js';
import { loadCampaign } from '../campaign/load.js';
import { UserError } from '../lib/errors.js';
import { manifestOf } from '../results/manifest.js';

export async function loadReportInput(source: string, resultsOverride?: string): Promise<LoadedCampaign> {
  const st = await stat(source).catch(() => null);
  if (!st) throw new UserError(`${source} does not exist`, 'pass a campaign file (miglab report campaigns/paper.yaml) or the results directory its `results:` names');
  if (st.isDirectory()) {
    if (resultsOverride) throw new UserError(`--results applies to a campaign file, but ${source} is a directory`, `drop --results, or pass the campaign file: miglab report <campaign.yaml> --results ${resultsOverride}`);
    return loadCampaignResults(source);
  }
  if (!/\.ya?ml$/.test(source)) throw new UserError(`${source} is neither a results directory nor a campaign file (.yaml)`, 'pass a campaign file (miglab report campaigns/paper.yaml) or its results directory');
  const loaded = await loadCampaign(source);
  return loadCampaignResults(resultsOverride ?? loaded.resolvePath(loaded.spec.results), manifestOf(loaded.spec));
}

export async function report(o: { sources: string[]; out?: string; results?: string }): Promise<WrittenReport & { campaigns: LoadedCampaign[] }> {
  if (o.results && o.sources.length > 1) throw new UserError('--results names one results directory, but several campaigns were given', 'pass results directories directly: miglab report <dir> <dir>');
  const campaigns: LoadedCampaign[] = [];
  for (const s of o.sources) campaigns.push(await loadReportInput(s, o.results));
  const outDir = o.out ?? join(campaigns[0]!.dir, 'report');
  return { ...(await writeReport(campaigns, outDir)), campaigns };
}
