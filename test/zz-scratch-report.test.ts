import { it } from 'vitest';
import { loadCampaignResults } from '../analysis/load.js';
import { writeReport } from '../analysis/report.js';
it('scratch report', async () => {
  const dirs = (process.env.DIRS ?? '/tmp/cliff-try').split(',');
  const cs = await Promise.all(dirs.map((d) => loadCampaignResults(d)));
  const r = await writeReport(cs, process.env.OUT ?? '/tmp/cliff-report');
  console.log(r.figures);
}, 120000);
