/**
 * Data-parallel training on the command line: the flags `stcsnn train` takes to join a process
 * group (`--world-size`, `--rank`, `--master-addr`, `--master-port`, `--dist-timeout`, or
 * torchrun's environment variables), and `stcsnn launch --nproc N -- train ...`, which starts N
 * ranks of a command on this machine (as `torchrun --nproc-per-node N`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, freemem } from 'node:os';
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
  oversubscribe?: boolean;
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
 * In a launched rank that trains but does not write (data-parallel ranks 1..N-1), once it has
 * joined its group: SIGINT and SIGTERM (Ctrl-C reaches every rank) do not end it at once. It
 * keeps taking part in the steps until the writing rank 0, which got the same signal, has saved
 * and exited; its next collective then fails, and {@link deferredSignal} says to end quietly with
 * the signal's code. Otherwise rank 0 could be left waiting in a collective for a dead rank, and
 * fail instead of saving. Not before the group is joined: a rank still starting has nothing to
 * wait for, and deferring there kept it in the rendezvous for --dist-timeout seconds after rank 0
 * had ended on the same signal (issue 33, case 3). Does nothing outside a launched rank.
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
  /** Its exit code; null when a signal killed it (or it could not be started). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why the rank could not be started (`spawn EAGAIN`), when it could not. */
  readonly startError?: string;
}

/**
 * The error of a launch whose rank `first` failed first (of `n`): killed by a signal (a
 * {@link KilledError}: exit 128 + its number), else its exit code (2: bad input, its error above);
 * a rank that could not be started is named with the system's reason (exit 1: not bad input).
 */
export function rankFailure(first: RankExit, n: number): Error {
  const stopped = n > 1 ? '; the other ranks were stopped' : '';
  if (first.startError !== undefined)
    return new Error(`rank ${first.rank} of ${n} could not be started (${first.startError})${stopped}`);
  if (first.signal)
    return new KilledError(
      `rank ${first.rank} of ${n} was killed by ${first.signal}${stopped}`,
      first.signal,
    );
  const msg = `rank ${first.rank} of ${n} failed (exit ${first.code}; its error is above)${stopped}`;
  return first.code === 2 ? new UsageError(msg) : new Error(msg);
}

/**
 * The least memory one rank takes before its network and data: Node, TensorFlow.js and libtorch
 * (a rank of the smallest network, VGG11 at width 0.125, peaked at 275 MiB here). `launch`
 * refuses more ranks than the machine's free memory holds at this much each.
 */
export const RANK_MEMORY_FLOOR = 256 * 2 ** 20;

/** The machine {@link nprocFor} holds `--nproc` to (the defaults: this one's). */
export interface Machine {
  readonly cores: number;
  /** Memory still available to new processes, in bytes. */
  readonly freeBytes: number;
}

/** This machine: its cores, and the memory available to new processes (cgroup limits included). */
export function thisMachine(): Machine {
  const available = (process as { availableMemory?: () => number }).availableMemory;
  return { cores: availableParallelism(), freeBytes: available ? available() : freemem() };
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/**
 * The rank count of `--nproc` (an integer in 1..1024), held to the machine (issue 33, case 3:
 * 1000 ranks on 2 cores started 430 processes in 3 s and exhausted the memory). More ranks than
 * cores is refused, not capped as `--threads` is: threads only share out the same work, while the
 * rank count is the run's world size (the global batch is batch size x N, and a data-parallel run
 * resumes only with its world size), so launch must not change it behind the user's back.
 * `oversubscribe` allows more ranks than cores (slower, the same run: to resume a run made on a
 * larger machine). More ranks than the free memory holds at {@link RANK_MEMORY_FLOOR} each is
 * refused always.
 * @throws UsageError (one line, naming the largest count that fits)
 */
export function nprocFor(raw: string, oversubscribe = false, machine: Machine = thisMachine()): number {
  const n = parseInteger('--nproc', raw, 1, 1024);
  const { cores, freeBytes } = machine;
  if (n > cores && !oversubscribe)
    throw new UsageError(
      `--nproc ${n} is more than the ${cores} cores of this machine (the rank count is the run's world size, so launch does not lower it); use --nproc ${cores} or fewer, or add --oversubscribe to start ${n} ranks anyway`,
    );
  const fits = Math.floor(freeBytes / RANK_MEMORY_FLOOR);
  if (n > fits)
    throw new UsageError(
      `--nproc ${n} needs at least ${gib(n * RANK_MEMORY_FLOOR)} of memory (${RANK_MEMORY_FLOOR / 2 ** 20} MiB a rank before its network), and ${gib(freeBytes)} is free; ${fits >= 1 ? `use --nproc ${fits} or fewer` : 'free some memory first'}`,
    );
  return n;
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
  /** Called right after rank `r` was started, before the next one is (for tests). */
  readonly onStarted?: (r: number, pid: number | undefined) => void;
}

/** How {@link runRanks} ended. */
export interface RanksOutcome {
  /** The first rank that failed (not counting ranks stopped by an interruption), if any. */
  readonly failed?: RankExit;
  /** The signal (SIGINT/SIGTERM) that interrupted the launcher, forwarded to every rank. */
  readonly interrupted?: NodeJS.Signals;
  /** Rank 0's stdout when collected. */
  readonly stdout: string;
  /** How many ranks were started (fewer than `n` when a signal or a failure came first). */
  readonly started: number;
}

/**
 * Starts the ranks and resolves when every one has ended. Rank 0's output passes through (its
 * stdout is collected with `collectStdout`); the other ranks' stderr is prefixed with their
 * rank. When a rank fails (or cannot be started), the others get SIGTERM (they would wait for it
 * until their timeout). SIGINT and SIGTERM to the launcher are forwarded to every rank, and the
 * launcher waits for them (a writing rank saves and releases its lock) before it resolves.
 *
 * The ranks are started one at a time, the event loop turning in between, so that a signal or a
 * failure that comes while they start is handled at once: no further rank is started, and those
 * started get the signal (a rank that has not yet joined its group ends on it at once). Should
 * the launcher itself exit with ranks still running (a bug), it sends them SIGTERM on its way
 * out; killed outright, its ranks see their IPC channel close ({@link stopWithLauncher}).
 */
export function runRanks(spec: RanksSpec): Promise<RanksOutcome> {
  const { n } = spec;
  const children: ChildProcess[] = [];
  let failed: RankExit | undefined;
  const stopped = new Set<ChildProcess>(); // ranks the launcher sent SIGTERM after a failure
  let interrupted: NodeJS.Signals | undefined;
  let stdout = '';
  const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const forward = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    for (const c of children) if (running(c)) c.kill(signal);
  };
  const fail = (exit: RankExit, self?: ChildProcess): void => {
    failed = exit;
    for (const o of children)
      if (o !== self && running(o) && !stopped.has(o)) {
        stopped.add(o);
        o.kill('SIGTERM');
      }
  };
  const orphans = (): void => {
    for (const c of children) if (running(c)) c.kill('SIGTERM');
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.on('exit', orphans);
  return new Promise<RanksOutcome>((resolveAll) => {
    let left = 0; // ranks started and not yet ended
    let starting = true;
    const settle = (): void => {
      if (starting || left > 0) return;
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      process.off('exit', orphans);
      resolveAll({ failed, interrupted, stdout, started: children.length });
    };
    const start = (r: number): ChildProcess | undefined => {
      let c: ChildProcess;
      try {
        c = spawn(process.execPath, [spec.script, ...spec.args], {
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
      } catch (e) {
        // spawn throws for some errors (ENOMEM, ...) instead of emitting them
        if (failed === undefined && interrupted === undefined)
          fail({ rank: r, code: null, signal: null, startError: (e as Error).message.split('\n')[0] });
        return undefined;
      }
      children.push(c);
      left++;
      let startError: string | undefined;
      if (r === 0) c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr?.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n'))
          if (line.trim()) process.stderr.write(`[rank ${r}] ${line}\n`);
      });
      c.on('error', (e) => {
        // a failed spawn (EAGAIN, ...) also ends with 'close'
        if (c.pid === undefined) startError ??= e.message.split('\n')[0];
      });
      c.on('close', (code, signal) => {
        // a rank interrupted by Ctrl-C (the terminal signals every rank) stops the launch like SIGINT to it
        if (interrupted === undefined && (code === 130 || signal === 'SIGINT')) forward('SIGINT');
        // once interrupted, the ranks end as they stop (the writer saved; the others' collectives fail)
        const failure = (code !== 0 || startError !== undefined) && interrupted === undefined;
        // a rank killed by a signal (not ours) is the cause, even when another rank saw it first
        const killed = signal !== null && !stopped.has(c);
        if (failure && (failed === undefined || (killed && failed.signal === null)))
          fail({ rank: r, code, signal, ...(startError !== undefined && { startError }) }, c);
        left--;
        settle();
      });
      return c;
    };
    void (async () => {
      for (let r = 0; r < n && interrupted === undefined && failed === undefined; r++) {
        const c = start(r);
        spec.onStarted?.(r, c?.pid);
        // let a signal, or a rank that failed already, be handled before the next rank starts
        await new Promise((res) => setImmediate(res));
      }
      starting = false;
      settle();
    })();
  });
}

/**
 * `stcsnn launch --nproc N [--oversubscribe] [--master-port P] [--threads T] -- <command> [args...]`:
 * runs N (at most the cores without `--oversubscribe`, and what the memory holds: {@link nprocFor})
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
    .requiredOption(
      '--nproc <n>',
      "number of processes (ranks), at most the cores (refused, not capped as --threads is: N is the run's world size) and what the free memory holds at 256 MiB a rank",
    )
    .option(
      '--oversubscribe',
      'allow more ranks than cores (slower; e.g. to resume a run made on a larger machine)',
    )
    .option('--master-port <port>', 'rendezvous port (default: a free one)')
    .option('--threads <n>', 'threads per rank for the native backend (default: cores / N, at least 1)')
    .argument('<command...>', 'the stcsnn command and its flags, after --')
    .allowUnknownOption(true);
  cmd.action(async (args: string[], flags: LaunchFlags) => {
    const n = nprocFor(flags.nproc, flags.oversubscribe === true);
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
