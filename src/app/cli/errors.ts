/**
 * Errors the CLI reports as one line with exit code 2 (bad input), as opposed to bugs
 * (exit 1). Any error whose class is listed in {@link isUserError} counts as bad input.
 */
import { constants } from 'node:os';
import { ConfigError } from '../../lib/core/config.js';

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

/** The exit code of a process ended by `signal`: 128 + its number (the shell's `$?`: SIGKILL 137). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * A command that ends because a process was killed by a signal (a rank of `stcsnn launch`, or
 * the launcher itself interrupted): neither bad input nor a bug. The CLI exits with
 * {@link signalExitCode} of the signal, and `--json` reports the code `killed`. When `reported`
 * is set, the processes have said what happened already and the CLI prints nothing more.
 */
export class KilledError extends Error {
  constructor(
    message: string,
    readonly signal: NodeJS.Signals,
    readonly reported = false,
  ) {
    super(message);
    this.name = 'KilledError';
  }

  /** 128 + the signal's number. */
  get exitCode(): number {
    return signalExitCode(this.signal);
  }
}
