/**
 * Runs over ranks (`--parallel runs`): instead of training one network data-parallel, the W ranks
 * of a process group share out whole, independent training runs (the seeds of `--repeats`, the
 * points of a sweep). Run `k` of a list (0-based) goes to rank `k mod W`; each rank trains its
 * runs one after the other, each alone (no collective inside a run), then the ranks exchange
 * their results through the rendezvous store (`gatherRuns`) and rank 0 writes the summary.
 */
import type { ProcessGroup } from './process-group.js';
import { DistError } from './process-group.js';

/** How a command with a process group of W > 1 uses it. */
export type ParallelMode = 'data' | 'runs';

/** The indexes `k` in `0..count-1` that rank `rank` of `worldSize` trains: `k mod W = rank`. */
export function runsOfRank(count: number, rank: number, worldSize: number): number[] {
  const out: number[] = [];
  for (let k = rank; k < count; k += worldSize) out.push(k);
  return out;
}

/** What one rank publishes: its runs' results by index, or the error that stopped it. */
type Published<T> = { ok: true; runs: [number, T][] } | { ok: false; error: string };

/** Options of `gatherRuns`. */
export interface GatherOptions {
  /**
   * The group's collective timeout in ms. A rank that finished its runs waits for the others
   * without limit: an exchange that fails after at least this long timed out (another rank is
   * still training) and is asked again; one that fails sooner (a rank exited: its connection
   * closed) is an error.
   */
  readonly timeoutMs: number;
  /** Called once when this rank starts waiting longer than the timeout for the others. */
  readonly onWait?: () => void;
}

/**
 * Collects every rank's results: `mine` maps this rank's run indexes to their results (or is
 * the Error that stopped this rank, published so the other ranks stop with it instead of
 * waiting). Resolves on every rank with the results of all runs, by index; `key` must be unique
 * to the call. Results travel as JSON.
 * @throws this rank's own error, or a DistError naming the first rank that failed
 */
export async function gatherRuns<T>(
  pg: ProcessGroup,
  key: string,
  mine: ReadonlyMap<number, T> | Error,
  opts: GatherOptions,
): Promise<Map<number, T>> {
  const value: Published<T> =
    mine instanceof Error
      ? { ok: false, error: mine.message.split('\n')[0] }
      : { ok: true, runs: [...mine.entries()] };
  const json = JSON.stringify(value);
  let all: string[] | undefined;
  let warned = false;
  while (!all) {
    const t0 = Date.now();
    try {
      all = await pg.exchange(key, json);
    } catch (e) {
      if (Date.now() - t0 < opts.timeoutMs * 0.9) throw e;
      if (!warned) opts.onWait?.();
      warned = true;
    }
  }
  if (mine instanceof Error) throw mine;
  const out = new Map<number, T>();
  for (let r = 0; r < all.length; r++) {
    const p = JSON.parse(all[r]) as Published<T>;
    if (!p.ok) throw new DistError(`rank ${r} of ${pg.worldSize} failed: ${p.error}`);
    for (const [k, v] of p.runs) out.set(k, v);
  }
  return out;
}
