/**
 * An error the user can act on: what went wrong, where, and how to fix it.
 * The CLI prints these without a stack trace; everything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly fix: string,
    readonly exitCode: number = ExitCode.Usage,
  ) {
    super(message);
  }

  format(): string {
    return `error: ${this.message}\n  fix: ${this.fix}`;
  }
}

/** Exit codes the CLI uses; scripts can rely on them. */
export const ExitCode = {
  Ok: 0,
  /** a run finished but some trials or checks failed */
  Failed: 1,
  /** bad input or a missing prerequisite, nothing was started */
  Usage: 2,
  /** the environment (server, bed, host) could not be reached */
  Unavailable: 3,
  /** interrupted by the user */
  Interrupted: 130,
} as const;
