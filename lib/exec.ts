import { execFile, spawn } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a local program without a shell; rejects with the program's stderr in the message. */
export function run(file: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim() || err.message;
          reject(new Error(`${file} ${args.join(' ')}: ${detail}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but resolves to false instead of rejecting: for probes and best-effort cleanup. */
export async function tryRun(file: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<boolean> {
  try {
    await run(file, args, opts);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a long-lived program detached from this process, its output appended to a log file.
 * Resolves with its pid once it runs; a program that cannot start (not installed, not executable)
 * rejects with the reason, instead of an unhandled 'error' event that would end the process.
 */
export function spawnDetached(file: string, args: readonly string[], logFd: number, env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', logFd, logFd], ...(env ? { env } : {}) });
    child.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot start ${file}: ${err.code === 'ENOENT' ? 'not found on PATH' : err.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  });
}
