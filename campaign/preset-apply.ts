/** A campaign's `preset:` turned into the factors it names, beside the file's own. */
import type { CampaignSpec, Factors } from './spec.js';
import type { SpecProblem } from './validate.js';
import { PRESET_NAMES, PRESETS, PRESETS_NOT_OFFERED, type PresetName } from './presets.js';

export function withPreset(spec: CampaignSpec): { spec: CampaignSpec; problems: SpecProblem[] } {
  if (spec.preset === undefined) return { spec, problems: [] };
  const name = spec.preset;
  if (!(name in PRESETS)) {
    const why = PRESETS_NOT_OFFERED[name];
    return {
      spec,
      problems: [{ path: ['preset'], message: why ? `guestperf's ${name} is not offered: ${why}` : `unknown preset "${name}"`, fix: `use one of: ${PRESET_NAMES.join(', ')}` }],
    };
  }
  const factors: Factors = PRESETS[name as PresetName](spec.vm.memoryMiB);
  const problems: SpecProblem[] = [];
  if (spec.combinations) problems.push({ path: ['combinations'], message: `preset ${name} varies factors, and only combinations are listed`, fix: 'remove the preset, or list its levels as combinations', atKey: true });
  for (const key of Object.keys(factors) as (keyof Factors)[]) {
    if (spec.factors?.[key] !== undefined) problems.push({ path: ['factors', key], message: `preset ${name} sets this factor's levels already`, fix: `remove factors.${key}, or the preset`, atKey: true });
  }
  return { spec: { ...spec, factors: { ...factors, ...spec.factors } }, problems };
}
