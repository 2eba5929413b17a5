/**
 * Data-parallel training on the command line: the flags `stcsnn train` takes to join a process
 * group (`--world-size`, `--rank`, `--master-addr`, `--master-port`, `--dist-timeout`, or
 * torchrun's environment variables), and `stcsnn launch --nproc N -- train ...`, which starts N
 * ranks of a command on this machine (as `torchrun --nproc-per-node N`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import {
  DEFAULT_MASTER_ADDR,
  DEFAULT_MASTER_PORT,
  checkProcessGroupOptions,
  processGroupFromEnv,
  type ProcessGroupOptions,
} from '../../lib/distributed/process-group.js';
import { KilledError, signalExitCode, UsageError } from './errors.js';
import { threadsFor } from './common.js';
import { printJson } from './output.js';
import { parseInteger, parseNumber } from './options.js';

/** The process-group flags of `stcsnn train`, parsed by commander. */
export interface DistFlags {
  worldSize?: string;
  rank?: string;
  masterAddr?: string;
  masterPort?: string;
  distTimeout?: string;
}

/** The keys of {@link DistFlags} (flags that do not change a run's configuration). */
export const DIST_FLAG_KEYS: readonly (keyof DistFlags)[] = [
  'worldSize',
  'rank',
  'masterAddr',
  'masterPort',
  'distTimeout',
];

/** Adds the process-group flags to a command; `what` says what N processes do (train's default). */
export function withDistFlags(cmd: Command, what = 'train over N processes (--parallel says how)'): Command {
  return cmd
    .option(
      '--world-size <n>',
      `${what} (default: $WORLD_SIZE, else 1); needs the libtorch backend with c10d`,
    )
    .option('--rank <r>', "this process's rank, 0..N-1 (default: $RANK)")
    .option(
      '--master-addr <host>',
      `rank 0's address, which serves the rendezvous (default: $MASTER_ADDR, else ${DEFAULT_MASTER_ADDR})`,
    )
    .option(
      '--master-port <port>',
      `rank 0's rendezvous port (default: $MASTER_PORT, else ${DEFAULT_MASTER_PORT})`,
    )
    .option(
      '--dist-timeout <s>',
      'seconds to wait for the other ranks (rendezvous, each all-reduce) before failing',
      '300',
    );
}

/**
 * The process group to join, from the flags, else torchrun's environment variables (a flag wins
 * over its variable); `undefined` for world size 1.
 * @throws UsageError or ConfigError (one line)
 */
export function processGroupOptions(
  f: DistFlags,
  env: NodeJS.ProcessEnv = process.env,
): ProcessGroupOptions | undefined {
  const fromEnv = processGroupFromEnv(env);
  const worldSize =
    f.worldSize !== undefined ? parseInteger('--world-size', f.worldSize, 1) : (fromEnv?.worldSize ?? 1);
  if (worldSize === 1 && f.rank === undefined) return undefined;
  const rank = f.rank !== undefined ? parseInteger('--rank', f.rank, 0) : (fromEnv?.rank ?? undefined);
  if (rank === undefined) throw new UsageError(`--world-size ${worldSize} needs --rank (or $RANK)`);
  if (rank >= worldSize)
    throw new UsageError(`--rank must be in 0..${worldSize - 1} for --world-size ${worldSize}; got ${rank}`);
  const timeout = f.distTimeout === undefined ? 300 : parseNumber('--dist-timeout', f.distTimeout);
  if (!(timeout > 0)) throw new UsageError(`--dist-timeout must be > 0 seconds, got ${f.distTimeout}`);
  const o = checkProcessGroupOptions({
    worldSize,
    rank,
    masterAddr: f.masterAddr ?? env.MASTER_ADDR,
    masterPort:
      f.masterPort !== undefined
        ? parseInteger('--master-port', f.masterPort, 1, 65535)
        : fromEnv?.masterPort,
    localRank: fromEnv?.localRank,
    timeoutMs: Math.round(timeout * 1000),
  });
  return o.worldSize === 1 ? undefined : o;
}

/** A free TCP port on the loopback interface (for `launch` without --master-port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface LaunchFlags {
  nproc: string;
  masterPort?: string;
  threads?: string;
}

/**
 * Set in the environment of the ranks `stcsnn launch` starts (each has an IPC channel to the
 * launcher): a rank whose launcher is gone stops as on SIGTERM ({@link stopWithLauncher}).
 */
export const LAUNCHED_ENV = 'STCSNN_LAUNCHED';

/**
 * Whether this process is a rank that `stcsnn launch` started: the variable is set and the
 * process was given an IPC channel (`process.channel` is `undefined` in a process that never had
 * one, e.g. a process a rank starts, which inherits the variable; `null` once the channel closed).
 */
function launched(): boolean {
  return process.env[LAUNCHED_ENV] === '1' && process.channel !== undefined;
}

/** The signal a non-writing rank received and defers ({@link deferSignalsToWriter}). */
let deferred: NodeJS.Signals | undefined;

/**
 * In a rank started by `stcsnn launch`: when the launcher dies (even by SIGKILL) its end of the
 * IPC channel closes, and this process stops as on SIGTERM: a writing rank saves what it has,
 * releases its lock and exits 143; a rank that defers its signals exits 143 at once. The channel
 * does not keep the process alive. Does nothing in any other process.
 *
 * Call it first thing: Node reads the channel from the start, while the modules still load, and
 * emits `disconnect` once, to the listeners there are then. A launcher killed while this rank was
 * starting (issue 33, case 4) has closed the channel already (`process.connected` is false), and
 * this rank exits 143 at once, before any work, writing nothing.
 */
export function stopWithLauncher(): void {
  if (!launched()) return;
  if (!process.connected) {
    try {
      process.stderr.write('stcsnn: stopped: its launcher (stcsnn launch) is gone\n');
    } catch {
      // stderr was the launcher's pipe
    }
    process.exit(signalExitCode('SIGTERM'));
  }
  process.channel?.unref();
  process.once('disconnect', () => {
    if (deferred !== undefined || deferring) process.exit(signalExitCode('SIGTERM'));
    process.kill(process.pid, 'SIGTERM');
  });
}

let deferring = false;

/**
 * In a launched rank that trains but does not write (data-parallel ranks 1..N-1): SIGINT and
 * SIGTERM (Ctrl-C reaches every rank) do not end it at once. It keeps taking part in the steps
 * until the writing rank 0, which got the same signal, has saved and exited; its next collective
 * then fails, and {@link deferredSignal} says to end quietly with the signal's code. Otherwise
 * rank 0 could be left waiting in a collective for a dead rank, and fail instead of saving.
 * Does nothing outside a launched rank.
 */
export function deferSignalsToWriter(): void {
  if (!launched() || deferring) return;
  deferring = true;
  const defer = (signal: NodeJS.Signals): void => {
    deferred ??= signal;
  };
  process.on('SIGINT', defer);
  process.on('SIGTERM', defer);
}

/** The signal a non-writing launched rank received (it ends with 128 + its number); else undefined. */
export function deferredSignal(): NodeJS.Signals | undefined {
  return deferred;
}

/** How a rank ended. */
export interface RankExit {
  readonly rank: number;
  /** Its exit code; null when a signal killed it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The error of a launch whose rank `first` failed first (of `n`): killed by a signal (a
 * {@link KilledError}: exit 128 + its number), else its exit code (2: bad input, its error above).
 */
export function rankFailure(first: RankExit, n: number): Error {
  const stopped = n > 1 ? '; the other ranks were stopped' : '';
  if (first.signal)
    return new KilledError(
      `rank ${first.rank} of ${n} was killed by ${first.signal}${stopped}`,
      first.signal,
    );
  const msg = `rank ${first.rank} of ${n} failed (exit ${first.code}; its error is above)${stopped}`;
  return first.code === 2 ? new UsageError(msg) : new Error(msg);
}

/** What {@link runRanks} starts. */
export interface RanksSpec {
  /** Number of ranks. */
  readonly n: number;
  /** The Node script each rank runs (the CLI's `main.js`) and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
  /** Environment of every rank (the torchrun variables are added). */
  readonly env: NodeJS.ProcessEnv;
  /** Rank 0's stdout is collected (returned) instead of passed through (`--json`). */
  readonly collectStdout?: boolean;
}

/** How {@link runRanks} ended. */
export interface RanksOutcome {
  /** The first rank that failed (not counting ranks stopped by an interruption), if any. */
  readonly failed?: RankExit;
  /** The signal (SIGINT/SIGTERM) that interrupted the launcher, forwarded to every rank. */
  readonly interrupted?: NodeJS.Signals;
  /** Rank 0's stdout when collected. */
  readonly stdout: string;
}

/**
 * Starts the ranks and resolves when every one has ended. Rank 0's output passes through (its
 * stdout is collected with `collectStdout`); the other ranks' stderr is prefixed with their
 * rank. When a rank fails, the others get SIGTERM (they would wait for it until their timeout).
 * SIGINT and SIGTERM to the launcher are forwarded to every rank, and the launcher waits for them
 * (a writing rank saves and releases its lock) before it resolves.
 */
export function runRanks(spec: RanksSpec): Promise<RanksOutcome> {
  const { n } = spec;
  const children: ChildProcess[] = [];
  let failed: RankExit | undefined;
  const stopped = new Set<ChildProcess>(); // ranks the launcher sent SIGTERM after a failure
  let interrupted: NodeJS.Signals | undefined;
  let stdout = '';
  const forward = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<RanksOutcome>((resolveAll) => {
    let left = n;
    for (let r = 0; r < n; r++) {
      const c = spawn(process.execPath, [spec.script, ...spec.args], {
        env: {
          ...spec.env,
          RANK: String(r),
          LOCAL_RANK: String(r),
          WORLD_SIZE: String(n),
          [LAUNCHED_ENV]: '1',
        },
        stdio:
          r === 0
            ? ['inherit', spec.collectStdout ? 'pipe' : 'inherit', 'inherit', 'ipc']
            : ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      if (r === 0) c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr?.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n'))
          if (line.trim()) process.stderr.write(`[rank ${r}] ${line}\n`);
      });
      c.on('error', () => {
        // a failed spawn also ends with 'close' (code -2 or so); nothing to add
      });
      c.on('close', (code, signal) => {
        // a rank interrupted by Ctrl-C (the terminal signals every rank) stops the launch like SIGINT to it
        if (interrupted === undefined && (code === 130 || signal === 'SIGINT')) forward('SIGINT');
        // once interrupted, the ranks end as they stop (the writer saved; the others' collectives fail)
        const failure = code !== 0 && interrupted === undefined;
        // a rank killed by a signal (not ours) is the cause, even when another rank saw it first
        const killed = signal !== null && !stopped.has(c);
        if (failure && (failed === undefined || (killed && failed.signal === null))) {
          failed = { rank: r, code, signal };
          for (const o of children)
            if (o !== c && o.exitCode === null && o.signalCode === null && !stopped.has(o)) {
              stopped.add(o);
              o.kill('SIGTERM');
            }
        }
        if (--left === 0) {
          process.off('SIGINT', forward);
          process.off('SIGTERM', forward);
          resolveAll({ failed, interrupted, stdout });
        }
      });
      children.push(c);
    }
  });
}

/**
 * `stcsnn launch --nproc N [--master-port P] [--threads T] -- <command> [args...]`: runs N
 * copies of `stcsnn <command> args...` with `WORLD_SIZE`, `RANK`, `LOCAL_RANK`, `MASTER_ADDR`
 * (127.0.0.1) and `MASTER_PORT` set, and `--threads` = cores / N unless the command names
 * `--threads` (see {@link runRanks} for output, failures and signals). A rank killed by a signal
 * ends the launch with 128 + its number (`rank 1 of 2 was killed by SIGKILL`); else launch exits
 * 2 when the first failure was bad input (exit 2), else 1. Interrupted (SIGINT/SIGTERM), it
 * exits 130/143 once every rank has ended. With `--json` after `--`, stdout gets one JSON
 * object: rank 0's, or the launcher's error when another rank failed first.
 */
export function launchCommand(): Command {
  const cmd = new Command('launch')
    .description(
      'run N ranks of a distributed command on this machine (as torchrun): stcsnn launch --nproc 2 -- train --epochs 1 (data-parallel), -- train --repeats 4 or -- sweep ... (runs shared out over the ranks)',
    )
    .requiredOption('--nproc <n>', 'number of processes (ranks)')
    .option('--master-port <port>', 'rendezvous port (default: a free one)')
    .option('--threads <n>', 'threads per rank for the native backend (default: cores / N, at least 1)')
    .argument('<command...>', 'the stcsnn command and its flags, after --')
    .allowUnknownOption(true);
  cmd.action(async (args: string[], flags: LaunchFlags) => {
    const n = parseInteger('--nproc', flags.nproc, 1, 1024);
    if (args[0] !== 'train' && args[0] !== 'sweep')
      throw new UsageError(
        `launch runs 'train' or 'sweep' (got '${args[0] ?? ''}'): stcsnn launch --nproc N -- train ...`,
      );
    for (const f of ['--world-size', '--rank', '--master-addr', '--master-port'])
      if (args.includes(f)) throw new UsageError(`launch sets ${f} itself; drop it after --`);
    const port =
      flags.masterPort !== undefined
        ? parseInteger('--master-port', flags.masterPort, 1, 65535)
        : await freePort();
    const threads =
      flags.threads !== undefined
        ? threadsFor(flags.threads)
        : Math.max(1, Math.floor(availableParallelism() / n));
    const extra = args.includes('--threads') ? [] : ['--threads', String(threads)];
    const json = args.includes('--json');
    const { failed, interrupted, stdout } = await runRanks({
      n,
      script: fileURLToPath(new URL('./main.js', import.meta.url)),
      args: [...args, ...extra],
      env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
      collectStdout: json,
    });
    // one JSON object: rank 0's (its result, or its own error when it failed first), else the launcher's error
    const rank0Json = lastJsonLine(stdout);
    if (json && rank0Json !== undefined && (failed === undefined || failed.rank === 0)) printJson(rank0Json);
    if (failed) throw rankFailure(failed, n);
    if (interrupted) throw new KilledError(`interrupted by ${interrupted}`, interrupted, true);
  });
  return cmd;
}

/** The last line of `text` that is a JSON value (a rank's `--json` object); undefined when none. */
function lastJsonLine(text: string): unknown {
  const line = text.trim().split('\n').pop();
  if (!line) return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
