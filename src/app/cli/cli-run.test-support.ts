/** Test helper: `stcsnn ARGS` run as a child process, to its end, its output collected as text. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI. */
export const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

/** The tests' smallest training data: 64 training and 32 test images. */
export const TINY_LIMITS: readonly string[] = ['--limit-train', '64', '--limit-test', '32'];
/** The tests' smallest training run: width 0.125, one epoch, {@link TINY_LIMITS}. */
export const TINY_RUN: readonly string[] = ['--width', '0.125', '--epochs', '1', ...TINY_LIMITS];

/** How {@link runCli} runs the CLI. */
export interface CliOptions {
  /** Variables added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** The working folder (this process's by default). */
  readonly cwd?: string;
  /** Milliseconds before the process is killed (none by default). */
  readonly timeout?: number;
  /** Runs the process as this user id, and the group of the same id. */
  readonly uid?: number;
}

/** What a CLI process printed and how it ended. */
export interface CliResult {
  /** The exit code; null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `stcsnn ARGS` with `node` and waits for it to end. */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
