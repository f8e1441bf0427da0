/**
 * `miglab server prepare`: makes the configured server (envconfig: TEMPORAL_ADDRESS, TLS, API key …)
 * ready for miglab — waits until its frontend answers, registers the namespace when the server
 * has none of that name, and adds miglab's search attributes through the operator API. What a
 * cluster's operator runs once; scripts/temporal-cluster.sh runs it after starting its server.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ExitCode, UserError } from '../lib/errors.js';
import { resolveTemporalTarget, type TemporalTarget } from './connection.js';
import { addMissingSearchAttributes, searchAttributeSpecs } from './search-attributes.js';

export interface PrepareResult {
  address: string;
  namespace: string;
  namespaceCreated: boolean;
  searchAttributesAdded: string[];
  serverVersion: string | null;
}

/** How long a namespace registered here is kept (the server's retention of closed workflows). */
const RETENTION_DAYS = 30;

/** gRPC PERMISSION_DENIED (7), UNIMPLEMENTED (12), UNAUTHENTICATED (16): waiting does not change them. */
function refusedForGood(err: unknown): boolean {
  const code = (err as { code?: number; cause?: { code?: number } }).code ?? (err as { cause?: { code?: number } }).cause?.code;
  return code === 7 || code === 12 || code === 16;
}

/** What to do when a step is not ours to take — Temporal Cloud manages namespaces and search attributes itself. */
function refusalFix(what: string, namespace: string): string {
  if (what === 'adding search attributes' || what === 'registering the namespace') {
    const sa = searchAttributeSpecs().map((s) => `--sa '${s}'`).join(' ');
    return `on Temporal Cloud, create the namespace in the Cloud UI and add the search attributes with tcld: tcld namespace search-attributes add -n ${namespace} ${sa}; on your own server, use credentials allowed the operator API`;
  }
  return 'check TEMPORAL_API_KEY or the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)';
}

export async function prepareServer(o: { waitS: number; target?: TemporalTarget; log?: (l: string) => void }): Promise<PrepareResult> {
  const target = o.target ?? resolveTemporalTarget();
  if (target.kind !== 'external') {
    throw new UserError('no Temporal server is configured (TEMPORAL_ADDRESS or a profile)', 'set TEMPORAL_ADDRESS (and TLS settings) to your server; the embedded dev server needs no preparing (`miglab server start`)', ExitCode.Usage);
  }
  const { connectionOptions, namespace } = target;
  const address = connectionOptions.address ?? '';
  const until = Date.now() + o.waitS * 1000;
  let lastError = '';
  // A server that has just started answers its frontend before it knows its namespaces: retry
  // each step until it succeeds or the wait is over.
  const retrying = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await f();
      } catch (err) {
        lastError = `${what}: ${(err as Error).message}`;
        if (refusedForGood(err)) throw new UserError(`the Temporal server at ${address} refused ${what} (${(err as Error).message})`, refusalFix(what, namespace), ExitCode.Unavailable);
        if (Date.now() > until) {
          throw new UserError(`the Temporal server at ${address} is not ready after ${o.waitS} s (${lastError})`, 'read the server\'s log; check TEMPORAL_ADDRESS and the TLS settings', ExitCode.Unavailable);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const connection = await retrying('connecting', () => Connection.connect({ ...(connectionOptions as object), connectTimeout: 5000 }));
  try {
    const info = await retrying('asking for its version', () => connection.workflowService.getSystemInfo({}));
    let namespaceCreated = false;
    const known = await retrying('listing namespaces', async () => {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } catch (err) {
        if (/not found/i.test((err as Error).message)) return false;
        throw err;
      }
    });
    if (!known) {
      o.log?.(`registering namespace ${namespace} (retention ${RETENTION_DAYS} days)`);
      await retrying('registering the namespace', () => connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${RETENTION_DAYS} days`) }));
      namespaceCreated = true;
    }
    // the frontend learns of a new namespace from its cache, refreshed every few seconds
    const searchAttributesAdded = await retrying('adding search attributes', () => addMissingSearchAttributes(connection, namespace));
    if (searchAttributesAdded.length) o.log?.(`search attributes added: ${searchAttributesAdded.join(', ')}`);
    return { address, namespace, namespaceCreated, searchAttributesAdded, serverVersion: info.serverVersion || null };
  } finally {
    await connection.close();
  }
}
