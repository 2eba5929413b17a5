/**
 * Errors the CLI reports as one line with exit code 2 (bad input), as opposed to bugs
 * (exit 1). Any error whose class is listed in {@link isUserError} counts as bad input.
 */
import { ConfigError } from '../core/config.js';

/** Bad input: a flag, a file, a checkpoint. The message is one line naming the culprit. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Errors that are the user's input, not ours. Other modules add their classes by name. */
const USER_ERROR_NAMES = new Set([
  'UsageError',
  'ConfigError',
  'DataError',
  'CheckpointError',
  'CommanderError',
  'FormatError',
  'BackendError',
  'DistError', // a data-parallel setup that cannot work: no c10d, unreachable master, port in use, dead rank
  'FileSystemError', // a path that cannot be written or read (EACCES, EROFS, ENOSPC, ...)
  'LockError', // a directory another process is writing
  'NumericalError', // a diverged run (NaN/Infinity): the configuration's fault, not a bug
]);

/** True for errors that mean "bad input" (exit 2). */
export function isUserError(e: unknown): e is Error {
  return (
    e instanceof UsageError ||
    e instanceof ConfigError ||
    (e instanceof Error && USER_ERROR_NAMES.has(e.name))
  );
}
