/**
 * A campaign's manifest, written beside its trial rows when it starts: the validated spec and the
 * trials it expands into. The report reads it to know what was expected (a running campaign is
 * reported as such), which hypervisor the rows belong to, and the settings behind the predicted
 * cliff, without the campaign file at hand.
 */
import type { CampaignSpec } from '../campaign/spec.js';
import { expandTrials, type TrialPlan } from '../campaign/trials.js';
import { hypervisorLabel } from '../campaign/pairs.js';
import type { RunProvenance } from './provenance.js';

export const MANIFEST_FORMAT = 'miglab-campaign/1';

export interface CampaignManifest {
  format: typeof MANIFEST_FORMAT;
  campaign: string;
  /** the campaign's hypervisor, or its pairs' kinds joined (`qemu+libvirt`): each trial's own is its hypervisor level */
  hypervisor: string;
  spec: CampaignSpec;
  trials: TrialPlan[];
  /** the latest run's provenance (absent in manifests written before miglab 0.3) */
  provenance?: RunProvenance;
}

export function manifestOf(spec: CampaignSpec, provenance?: RunProvenance): CampaignManifest {
  return { format: MANIFEST_FORMAT, campaign: spec.campaign, hypervisor: hypervisorLabel(spec), spec, trials: expandTrials(spec), ...(provenance ? { provenance } : {}) };
}
