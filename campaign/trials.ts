/** A campaign expanded into trials, each with an id that stays the same across reruns and resumes. */
import type { CampaignSpec, Scenario } from './spec.js';
import { trialId } from '../workflows/names.js';

export interface TrialPlan {
  /** campaign/scenario/size/repetition, e.g. paper/dirty-ramp/32MiB/r2 */
  id: string;
  scenario: string;
  kind: Scenario['kind'];
  /** the workload's working set, or a service scenario's key set; null for the baseline (no workload) */
  workingSetMiB: number | null;
  repetition: number;
}

export function expandTrials(spec: CampaignSpec): TrialPlan[] {
  const trials: TrialPlan[] = [];
  for (const s of spec.scenarios) {
    const sizes: (number | null)[] = s.kind === 'dirty-ramp' ? s.workingSetsMiB : s.kind === 'service' ? s.keySetsMiB : [null];
    for (const size of sizes) {
      for (let r = 1; r <= spec.repetitions; r++) {
        trials.push({ id: trialId({ campaign: spec.campaign, scenario: s.name, workingSetMiB: size, repetition: r }), scenario: s.name, kind: s.kind, workingSetMiB: size, repetition: r });
      }
    }
  }
  return trials;
}
