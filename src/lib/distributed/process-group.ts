/**
 * Process groups for data-parallel training: `worldSize` processes (ranks), each training on a
 * disjoint shard of every batch, averaging gradients before each optimiser step. Built on
 * libtorch's c10d (a TCPStore rendezvous at `masterAddr:masterPort`, served by rank 0, and a Gloo
 * process group on CPU), as `torchrun` starts PyTorch jobs, so the same environment variables
 * (`WORLD_SIZE`, `RANK`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`) work.
 *
 * World size 1 needs no native code ({@link localProcessGroup}); world size > 1 needs the
 * libtorch backend built with c10d, and is refused with one line otherwise.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../core/config.js';

/** Where and how to meet the other ranks. */
export interface ProcessGroupOptions {
  readonly worldSize: number;
  readonly rank: number;
  /** Rank 0's address (it serves the rendezvous store). Default `127.0.0.1`. */
  readonly masterAddr?: string;
  /** The store's TCP port on rank 0. Default 29500 (torchrun's). */
  readonly masterPort?: number;
  /** How long to wait for the other ranks (rendezvous, each collective). Default 300 000 ms. */
  readonly timeoutMs?: number;
  /** The rank on this machine (torchrun's `LOCAL_RANK`); informational. */
  readonly localRank?: number;
  /** `gloo` (CPU, default) or `nccl` (CUDA builds of libtorch). */
  readonly backend?: 'gloo' | 'nccl';
}

/** What training needs of a process group. */
export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Sums (`sum`) or averages (`avg`) each float32 tensor over the ranks, in place; see `NativeProcessGroup.allReduce` (stcsnn-libtorch). */
  allReduce(tensors: tf.Tensor[], op: 'sum' | 'avg'): Promise<void>;
  /**
   * As {@link allReduce}, blocking this thread until every rank has contributed (or the
   * timeout): for small tensors that a synchronous TensorFlow.js forward or backward pass must
   * reduce on the spot (synchronised batch norm). Ranks must issue all their collectives, this
   * one included, in the same order.
   */
  allReduceSync(tensors: tf.Tensor[], op: 'sum' | 'avg'): void;
  /** Resolves when every rank has reached it. */
  barrier(): Promise<void>;
  /** Every rank's `value` for `key`, by rank. */
  exchange(key: string, value: string): Promise<string[]>;
  /** Leaves the group and frees its connections (no collective may follow). */
  destroy(): void;
}

/** A distributed setup that cannot work (bad options, no c10d, unreachable master, dead peer). */
export class DistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistError';
  }
}

/** The rendezvous address when the options give none. */
export const DEFAULT_MASTER_ADDR = '127.0.0.1';
/** The rendezvous port when the options give none (torchrun's default). */
export const DEFAULT_MASTER_PORT = 29500;
/** The collectives' timeout in ms when the options give none (5 minutes). */
export const DEFAULT_TIMEOUT_MS = 300_000;

function int(name: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
    throw new ConfigError(`${name} must be a non-negative integer; got ${v}`);
  return n;
}

/**
 * Options from torchrun's environment variables, or `undefined` where `WORLD_SIZE` is unset.
 * `RANK` is required with `WORLD_SIZE`; `MASTER_ADDR`, `MASTER_PORT`, `LOCAL_RANK` are optional.
 */
export function processGroupFromEnv(env: NodeJS.ProcessEnv = process.env): ProcessGroupOptions | undefined {
  if (env.WORLD_SIZE === undefined) return undefined;
  if (env.RANK === undefined) throw new ConfigError('WORLD_SIZE is set but RANK is not (torchrun sets both)');
  return checkProcessGroupOptions({
    worldSize: int('WORLD_SIZE', env.WORLD_SIZE),
    rank: int('RANK', env.RANK),
    masterAddr: env.MASTER_ADDR,
    masterPort: env.MASTER_PORT === undefined ? undefined : int('MASTER_PORT', env.MASTER_PORT),
    localRank: env.LOCAL_RANK === undefined ? undefined : int('LOCAL_RANK', env.LOCAL_RANK),
  });
}

/** Checks the options and fills in the defaults; throws a one-line {@link ConfigError}. */
export function checkProcessGroupOptions(o: ProcessGroupOptions): Required<
  Omit<ProcessGroupOptions, 'localRank'>
> & {
  localRank?: number;
} {
  const { worldSize, rank } = o;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new ConfigError(`world size must be an integer >= 1; got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new ConfigError(
      `rank must be an integer in [0, ${worldSize}) for world size ${worldSize}; got ${rank}`,
    );
  const masterPort = o.masterPort ?? DEFAULT_MASTER_PORT;
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535)
    throw new ConfigError(`master port must be an integer in 1..65535; got ${masterPort}`);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new ConfigError(`timeout must be a positive number of ms; got ${timeoutMs}`);
  const masterAddr = o.masterAddr ?? DEFAULT_MASTER_ADDR;
  if (masterAddr.trim() === '') throw new ConfigError('master address is empty');
  return {
    worldSize,
    rank,
    masterAddr,
    masterPort,
    timeoutMs,
    backend: o.backend ?? 'gloo',
    localRank: o.localRank,
  };
}

/** The group of one process: collectives are no-ops. */
export function localProcessGroup(): ProcessGroup {
  return {
    rank: 0,
    worldSize: 1,
    allReduce: async () => {},
    allReduceSync: () => {},
    barrier: async () => {},
    exchange: async (_key, value) => [value],
    destroy: () => {},
  };
}

interface LibtorchDist {
  distAvailability(): { available: true; backends: string[] } | { available: false; reason: string };
  initNativeProcessGroup(o: {
    backend?: 'gloo' | 'nccl';
    masterAddr: string;
    masterPort: number;
    rank: number;
    worldSize: number;
    timeoutMs: number;
  }): Promise<ProcessGroup>;
}

/** Why a multi-process group cannot be made here (`undefined` when it can). */
export async function distUnavailableReason(activeBackend: string): Promise<string | undefined> {
  if (activeBackend !== 'libtorch')
    return `world size > 1 needs the libtorch backend (c10d collectives); the active backend is ${activeBackend}`;
  let mod: LibtorchDist;
  try {
    mod = (await import('stcsnn-libtorch' as string)) as LibtorchDist;
  } catch (e) {
    return `world size > 1 needs the libtorch backend (package stcsnn-libtorch): ${(e as Error).message.split('\n')[0]}`;
  }
  const a = mod.distAvailability();
  return a.available ? undefined : `world size > 1 needs c10d in the libtorch backend: ${a.reason}`;
}

/**
 * The group with each collective's failure as a one-line {@link DistError} naming this rank (a
 * peer that exited closes its connections, so the survivors fail at once; a peer that hangs
 * makes them fail after the timeout).
 */
function withDistErrors(pg: ProcessGroup, timeoutMs: number): ProcessGroup {
  const wrap =
    <A extends unknown[], R>(what: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await f(...a);
      } catch (e) {
        throw fail(what, e);
      }
    };
  const fail = (what: string, e: unknown) =>
    new DistError(
      `rank ${pg.rank} of ${pg.worldSize}: ${what} failed (another rank exited, or did not answer within ${timeoutMs / 1000} s): ${(e as Error).message.split('\n')[0]}`,
    );
  return {
    rank: pg.rank,
    worldSize: pg.worldSize,
    allReduceSync: (t: tf.Tensor[], op: 'sum' | 'avg') => {
      try {
        pg.allReduceSync(t, op);
      } catch (e) {
        throw fail('all-reduce', e);
      }
    },
    allReduce: wrap('all-reduce', (t: tf.Tensor[], op: 'sum' | 'avg') => pg.allReduce(t, op)),
    barrier: wrap('barrier', () => pg.barrier()),
    exchange: wrap('exchange', (k: string, v: string) => pg.exchange(k, v)),
    destroy: () => pg.destroy(),
  };
}

/**
 * Joins the process group ({@link initProcessGroup}) and runs the start-up checks `check` on it
 * (e.g. that every rank trains the same configuration); a failed check destroys the group before
 * its error propagates, so no rank is left holding the store.
 */
export async function joinProcessGroup(
  o: ProcessGroupOptions,
  activeBackend: string,
  check: (pg: ProcessGroup) => Promise<void>,
): Promise<ProcessGroup> {
  const pg = await initProcessGroup(o, activeBackend);
  try {
    await check(pg);
  } catch (e) {
    pg.destroy();
    throw e;
  }
  return pg;
}

/**
 * Joins the process group: world size 1 is local; otherwise every rank must call this with the
 * same world size, master address and port (rank 0 first or not: the others retry until the
 * timeout). `activeBackend` is the TensorFlow.js backend in use (`libtorch` required).
 *
 * @throws ConfigError (bad options) or DistError (no c10d here, unreachable master after the
 *   timeout, port in use on rank 0), each one line
 */
export async function initProcessGroup(o: ProcessGroupOptions, activeBackend: string): Promise<ProcessGroup> {
  const c = checkProcessGroupOptions(o);
  if (c.worldSize === 1) return localProcessGroup();
  const why = await distUnavailableReason(activeBackend);
  if (why) throw new DistError(why);
  const mod = (await import('stcsnn-libtorch' as string)) as LibtorchDist;
  try {
    return withDistErrors(await mod.initNativeProcessGroup(c), c.timeoutMs);
  } catch (e) {
    throw new DistError(
      `rank ${c.rank} of ${c.worldSize} could not join the group at ${c.masterAddr}:${c.masterPort}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}
