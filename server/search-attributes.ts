/** Registering miglab's search attributes (defined in workflows/search-attributes.ts) on a server. */
import { SearchAttributeType } from '@temporalio/common';
import { SA } from '../workflows/search-attributes.js';

/** Each key as `NAME=Type`, the type spelt as the Temporal CLI and tcld spell it. */
export function searchAttributeSpecs(): string[] {
  const cliType: Record<string, string> = {
    [SearchAttributeType.KEYWORD]: 'Keyword',
    [SearchAttributeType.INT]: 'Int',
  };
  return Object.values(SA).map((k) => `${k.name}=${cliType[k.type]}`);
}

/** The dev server's `--search-attribute NAME=TYPE` spelling of each key. */
export function devServerSearchAttributeFlags(): string[] {
  return searchAttributeSpecs().flatMap((s) => ['--search-attribute', s]);
}

type ListingConnection = { operatorService: { listSearchAttributes(r: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }> } };

/** miglab's keys the namespace lacks. */
async function missingSearchAttributes(connection: ListingConnection, namespace: string) {
  const have = await connection.operatorService.listSearchAttributes({ namespace });
  return Object.values(SA).filter((k) => !(k.name in (have.customAttributes ?? {})));
}

/** Whether the server has every miglab search attribute (a cluster miglab did not set up may not). */
export async function hasSearchAttributes(connection: ListingConnection, namespace: string): Promise<boolean> {
  try {
    return (await missingSearchAttributes(connection, namespace)).length === 0;
  } catch {
    return false; // not allowed to ask: run without them rather than fail every trial
  }
}

type OperatorConnection = ListingConnection & {
  operatorService: { addSearchAttributes(r: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown> };
};

/** Adds whichever of miglab's search attributes the namespace lacks (operator API); returns the names added. */
export async function addMissingSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return [];
  // INDEXED_VALUE_TYPE_KEYWORD = 2, INDEXED_VALUE_TYPE_INT = 3 (enums of @temporalio/proto)
  const typeCode: Record<string, number> = { [SearchAttributeType.KEYWORD]: 2, [SearchAttributeType.INT]: 3 };
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((k) => [k.name, typeCode[k.type]!])) });
  return missing.map((k) => k.name);
}
