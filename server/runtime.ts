import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * Keeps the SDK's own log (bundler output, worker state changes) to warnings unless
 * MIGLAB_LOG_LEVEL says otherwise. Must run before the first worker connection is made.
 */
export function installRuntime(): void {
  if (installed) return;
  installed = true;
  const level = (process.env.MIGLAB_LOG_LEVEL ?? 'WARN').toUpperCase() as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({ logger: new DefaultLogger(level) });
}
