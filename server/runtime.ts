import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';

let installed = false;
let logFile: string | undefined;

/**
 * Sends the SDK's log (worker state, activity failures with their stacks, the native core's
 * warnings) to a file instead of the terminal, where `miglab run` shows progress and one line per
 * failed attempt. Call before the first worker connection; the path is what the user is told.
 */
export function logSdkTo(path: string): void {
  if (installed) throw new Error('miglab: the SDK log must be set before the runtime is installed');
  mkdirSync(dirname(path), { recursive: true });
  logFile = path;
}

/** One line per entry: time, level, message, and its metadata (an activity failure's error and stack). */
function toFile(entry: LogEntry): void {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : typeof v === 'bigint' ? String(v) : v))}` : '';
  appendFileSync(logFile!, `${time} ${entry.level} ${entry.message}${meta}\n`);
}

/**
 * Keeps the SDK's own log (bundler output, worker state changes) to warnings unless
 * MIGLAB_LOG_LEVEL says otherwise. Must run before the first worker connection is made.
 */
export function installRuntime(): void {
  if (installed) return;
  installed = true;
  const level = (process.env.MIGLAB_LOG_LEVEL ?? 'WARN').toUpperCase() as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({
    logger: new DefaultLogger(level, logFile ? toFile : undefined),
    // the native core's own warnings go where the rest goes
    ...(logFile ? { telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } } } : {}),
  });
}
