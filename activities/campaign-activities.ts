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
  };
}
