/** Registering miglab's search attributes (defined in workflows/search-attributes.ts) on a server. */
import { SearchAttributeType } from '@temporalio/common';
import { SA } from '../workflows/search-attributes.js';

/** The dev server's `--search-attribute NAME=TYPE` spelling of each key. */
export function devServerSearchAttributeFlags(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
  };
  return Object.values(SA).flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type]}`]);
}

/** Whether the server has every miglab search attribute (a cluster miglab did not set up may not). */
export async function hasSearchAttributes(connection: { operatorService: { listSearchAttributes(r: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }> } }, namespace: string): Promise<boolean> {
  try {
    const have = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.values(SA).every((k) => k.name in (have.customAttributes ?? {}));
  } catch {
    return false; // not allowed to ask: run without them rather than fail every trial
  }
}
