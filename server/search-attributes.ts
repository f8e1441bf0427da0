/** miglab's typed search attributes: registered at server start so the UI and `miglab ls` can filter. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  campaign: defineSearchAttributeKey('MiglabCampaign', SearchAttributeType.KEYWORD),
  scenario: defineSearchAttributeKey('MiglabScenario', SearchAttributeType.KEYWORD),
  hypervisor: defineSearchAttributeKey('MiglabHypervisor', SearchAttributeType.KEYWORD),
  workingSetMB: defineSearchAttributeKey('MiglabWorkingSetMB', SearchAttributeType.INT),
  outcome: defineSearchAttributeKey('MiglabOutcome', SearchAttributeType.KEYWORD),
} as const;

/** The dev server's `--search-attribute NAME=TYPE` spelling of each key. */
export function devServerSearchAttributeFlags(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
  };
  return Object.values(SA).flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type]}`]);
}
