/** Activities the campaign workflow itself needs: what the results store already holds. */
import type { ResultsStore } from '../results/store.js';
import type { CampaignActivities } from '../workflows/campaign.js';
import type { TrialRow } from '../workflows/trial-types.js';

export function createCampaignActivities({ store }: { store: ResultsStore }): CampaignActivities {
  return {
    async recordedTrials() {
      // Ids and outcomes only: the rows themselves stay in the store.
      return (await store.readTrials<TrialRow>()).map((t) => ({ id: t.trialId, outcome: t.row.outcome.kind }));
    },
    async recordedAmong({ ids }) {
      const rows = await Promise.all(ids.map(async (id) => ({ id, row: await store.readTrial<TrialRow>(id) })));
      return rows.flatMap(({ id, row }) => (row ? [{ id, outcome: row.outcome.kind }] : []));
    },
    async recordedCounts() {
      const counts = { converged: 0, offline: 0, failed: 0 };
      for (const t of await store.readTrials<TrialRow>()) counts[t.row.outcome.kind]++;
      return counts;
    },
  };
}
