/**
 * A campaign file from a typed spec: what tests and benches write instead of YAML by hand. The
 * type is the schema's own input type, so a field renamed in the schema breaks their build, not
 * their run; the file goes through `miglab check`'s loader like any user's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { campaignSchema } from './spec.js';

/** What a campaign file may say (defaults may be left out). */
export type CampaignFileSpec = z.input<typeof campaignSchema>;

export function campaignYaml(spec: CampaignFileSpec, comment?: string): string {
  return `${comment ? `# ${comment}\n` : ''}${stringify(spec)}`;
}

/** Writes `<dir>/<campaign>.yaml` and returns its path. */
export function writeCampaign(dir: string, spec: CampaignFileSpec, comment?: string): string {
  const file = join(dir, `${spec.campaign}.yaml`);
  writeFileSync(file, campaignYaml(spec, comment));
  return file;
}
