/** A campaign expanded into trials, each with an id that stays the same across reruns and resumes. */
import type { CampaignSpec } from './spec.js';
import { planOf, plannedTrials, type CampaignPlan, type PlannedTrial } from '../workflows/campaign-plan.js';

export type TrialPlan = PlannedTrial;

/** The campaign's plan: what its workflow expands its trials from. */
export function campaignPlan(spec: CampaignSpec): CampaignPlan {
  return planOf(spec);
}

/** Every trial of the campaign, in the order it runs them. */
export function expandTrials(spec: CampaignSpec): TrialPlan[] {
  return [...plannedTrials(campaignPlan(spec))];
}
