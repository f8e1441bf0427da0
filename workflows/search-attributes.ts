/**
 * miglab's typed search attributes: registered at server start so the UI and `miglab ls` can filter.
 * Sandbox code (see workflows/README.md): the workflows set them, the CLI and server read them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  campaign: defineSearchAttributeKey('MiglabCampaign', SearchAttributeType.KEYWORD),
  scenario: defineSearchAttributeKey('MiglabScenario', SearchAttributeType.KEYWORD),
  hypervisor: defineSearchAttributeKey('MiglabHypervisor', SearchAttributeType.KEYWORD),
  workingSetMB: defineSearchAttributeKey('MiglabWorkingSetMB', SearchAttributeType.INT),
  outcome: defineSearchAttributeKey('MiglabOutcome', SearchAttributeType.KEYWORD),
} as const;
