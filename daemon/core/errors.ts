/**
 * Errors a user can cause. Each carries the exit code docs/commands.md gives and a one-line
 * message that names the file/key/value and what to do. The CLI prints `message` alone
 * (never a stack trace) and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad config or arguments: exit 2. */
export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A runtime failure the user can fix (missing file, corrupt video, unreachable broker): exit 1. */
export class RuntimeFailure extends UserError {
  constructor(message: string) {
    super(message, 1);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
