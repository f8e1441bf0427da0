/**
 * Which Temporal server miglab talks to. An address from @temporalio/envconfig (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE or the config file) means
 * the user's own server or cluster; without one, miglab uses (and if need be starts) its embedded
 * dev server.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ExitCode, UserError } from '../lib/errors.js';
import { installRuntime } from './runtime.js';
import { defaultDevServerOptions, ensureDevServer, portOpen, type DevServerOptions } from './dev-server.js';

export type TemporalTarget =
  | { kind: 'embedded'; options: DevServerOptions }
  | { kind: 'external'; connectionOptions: NativeConnectionOptions; namespace: string; profile: string };

export function resolveTemporalTarget(env: Record<string, string | undefined> = process.env): TemporalTarget {
  const profileName = env.TEMPORAL_PROFILE;
  let profile;
  try {
    profile = loadClientConfigProfile({
      ...(profileName ? { profile: profileName } : {}),
      overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    });
  } catch (err) {
    throw new UserError(
      `cannot read the Temporal client configuration: ${(err as Error).message}`,
      'fix the profile named by TEMPORAL_PROFILE (or the file TEMPORAL_CONFIG_FILE points at), or unset them to use the embedded server',
    );
  }
  if (!profile.address) return { kind: 'embedded', options: defaultDevServerOptions() };
  const { connectionOptions, namespace } = toClientOptions(profile);
  return { kind: 'external', connectionOptions, namespace: namespace ?? 'default', profile: profileName ?? 'default' };
}

export interface TemporalSession {
  client: Client;
  connection: Connection;
  namespace: string;
  address: string;
  uiUrl: string | undefined;
  /** a worker's connection to the same server */
  nativeConnection(): Promise<NativeConnection>;
  close(): Promise<void>;
}

/** A workflow's page in the Web UI, in the session's namespace (none when miglab knows no UI). */
export function workflowUiUrl(session: Pick<TemporalSession, 'uiUrl' | 'namespace'>, workflowId: string): string | undefined {
  return session.uiUrl ? `${session.uiUrl}/namespaces/${encodeURIComponent(session.namespace)}/workflows/${encodeURIComponent(workflowId)}` : undefined;
}

/**
 * A session with the configured server. `start: false` (commands that only ask about campaigns:
 * status, ls, pause, verify …): never start the embedded server — with none running there is no
 * campaign to ask about, and a server started just to answer would be left behind.
 */
export async function connectTemporal(target = resolveTemporalTarget(), log: (l: string) => void = () => {}, opts: { start?: boolean } = {}): Promise<TemporalSession> {
  let options: NativeConnectionOptions;
  let namespace: string;
  let uiUrl: string | undefined;
  if (target.kind === 'embedded' && opts.start === false && !(await portOpen(target.options.ip, target.options.port))) {
    throw new UserError(
      `no Temporal server is running at ${target.options.ip}:${target.options.port}, so there is no campaign to ask about`,
      'start one with `miglab server start` (or `miglab run <campaign.yaml>`, which starts it), or point TEMPORAL_ADDRESS at your server',
      ExitCode.Unavailable,
    );
  }
  if (target.kind === 'embedded') {
    const server = await ensureDevServer(target.options, log);
    log(`Temporal: ${server.how === 'started' ? 'started' : 'using'} the embedded dev server at ${server.address} (UI ${server.uiUrl})`);
    options = { address: server.address };
    namespace = server.namespace;
    uiUrl = server.uiUrl;
  } else {
    options = target.connectionOptions;
    namespace = target.namespace;
    log(`Temporal: ${options.address} namespace ${namespace} (profile ${target.profile})`);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...(options as object), connectTimeout: 10_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach the Temporal server at ${options.address}: ${(err as Error).message}`,
      target.kind === 'external' ? 'check TEMPORAL_ADDRESS / the profile, TLS and API key settings' : 'run `miglab server status` and read .miglab/temporal/server.log',
      ExitCode.Unavailable,
    );
  }
  return {
    client: new Client({ connection, namespace }),
    connection,
    namespace,
    address: options.address ?? '',
    uiUrl,
    nativeConnection: () => {
      installRuntime();
      return NativeConnection.connect(options);
    },
    close: () => connection.close(),
  };
}
