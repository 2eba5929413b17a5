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
} from '../distributed/process-group.js';
import { UsageError } from './errors.js';
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
 * `stcsnn launch --nproc N [--master-port P] [--threads T] -- <command> [args...]`: runs N
 * copies of `stcsnn <command> args...` with `WORLD_SIZE`, `RANK`, `LOCAL_RANK`, `MASTER_ADDR`
 * (127.0.0.1) and `MASTER_PORT` set, and `--threads` = cores / N unless the command names
 * `--threads`. Rank 0's output passes through; the other ranks' stderr is prefixed with their
 * rank. When a rank fails, the others are stopped; launch exits 2 when the first failure was
 * bad input (exit 2), else 1.
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
        ? parseInteger('--threads', flags.threads, 1, 1024)
        : Math.max(1, Math.floor(availableParallelism() / n));
    const extra = args.includes('--threads') ? [] : ['--threads', String(threads)];
    const main = fileURLToPath(new URL('./main.js', import.meta.url));
    const children: ChildProcess[] = [];
    let first: { rank: number; code: number } | undefined;
    await new Promise<(number | null)[]>((resolveAll) => {
      const done: (number | null)[] = new Array(n).fill(undefined);
      let left = n;
      for (let r = 0; r < n; r++) {
        const c = spawn(process.execPath, [main, ...args, ...extra], {
          env: {
            ...process.env,
            WORLD_SIZE: String(n),
            RANK: String(r),
            LOCAL_RANK: String(r),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
          },
          stdio: r === 0 ? 'inherit' : ['ignore', 'ignore', 'pipe'],
        });
        c.stderr?.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n'))
            if (line.trim()) process.stderr.write(`[rank ${r}] ${line}\n`);
        });
        c.on('close', (code, signal) => {
          done[r] = code ?? (signal ? 1 : 0);
          if (done[r] !== 0 && first === undefined) {
            first = { rank: r, code: done[r] ?? 1 };
            // the others would wait for the dead rank until their timeout
            for (const o of children) if (o !== c && o.exitCode === null) o.kill('SIGTERM');
          }
          if (--left === 0) resolveAll(done);
        });
        children.push(c);
      }
    });
    if (first) {
      const msg = `rank ${first.rank} of ${n} failed (exit ${first.code}; its error is above); the other ranks were stopped`;
      throw first.code === 2 ? new UsageError(msg) : new Error(msg);
    }
  });
  return cmd;
}
