/**
 * Repeats (the paper's protocol): train seeds `seed, seed+1, ...` of one configuration, each in
 * its own `seed-<n>/` run directory, and summarise the final test accuracy as mean, sample
 * standard deviation and best (`repeats.json`, `rundir/repeats-file.ts`).
 */
import { join } from 'node:path';
import type { TrainConfig } from '../config/config.js';
import { train, type TrainHooks } from '../train/train.js';
import type { ProcessGroup } from '../../lib/distributed/process-group.js';
import { gatherRuns, runsOfRank, type GatherOptions } from '../../lib/distributed/runs.js';
import { isRunDir, prepareRunDir } from '../rundir/dirs.js';
import { seedDirName } from '../rundir/layout.js';
import { acquireLock } from '../rundir/lock.js';
import { summarizeRepeats, writeRepeats, type RepeatSummary } from '../rundir/repeats-file.js';
import type { TrainResult } from '../rundir/result-file.js';
import { inspectRun } from '../rundir/run-record.js';

/** Options of {@link runRepeats}. */
export interface RunRepeatsOptions {
  /** The run directory (one run), or the repeat group's directory (several seeds). */
  readonly runDir: string;
  /** The backend's name, recorded in the result. */
  readonly backend: string;
  /** Continue the run in `runDir` from its last checkpoint (one run only). */
  readonly resume?: boolean;
  /** With `resume`: the learning rate to continue with (see `TrainOptions.lrOverride`). */
  readonly lrOverride?: number;
  /** With `resume`: called once every check has passed, before the run is written (see `TrainOptions.beforeWrite`). */
  readonly beforeWrite?: () => void;
  /** Data-parallel training (one repeat only): this process's group; see `TrainOptions`. */
  readonly processGroup?: ProcessGroup;
  /**
   * Runs over ranks (`--parallel runs`; not with `processGroup`): seed `seed + k` is trained by
   * rank `k mod W` of this group, alone (its run directory locked and written by that rank
   * only); then the ranks exchange their results and rank 0 alone locks the group directory
   * and writes `repeats.json`. Every rank resolves with all seeds' results.
   */
  readonly runsOver?: GatherOptions & { readonly group: ProcessGroup };
  /** Progress hooks for the run of `seed`. */
  readonly hooks?: (seed: number) => TrainHooks | undefined;
  /**
   * Keep what earlier invocations trained (resumable after a kill), as the run record finds each
   * seed's directory (`inspectRun`): a finished run, or one its time budget stopped (the budget's
   * result: a rerun of the same command trains nothing more), is read, not retrained; an
   * interrupted one continues from its checkpoint; any other is started afresh. Without it every
   * seed's directory is cleared and trained. (A stopped seed trains on with
   * `stcsnn train --resume <seed dir> --time-budget B`.)
   */
  readonly keepFinished?: boolean;
  /** Called per seed before it runs (skipped as finished before, resumed, started) and when it is done. */
  readonly onSeed?: (seed: number, what: 'skip' | 'resume' | 'start' | 'done', result?: TrainResult) => void;
}

/** What {@link runRepeats} did. */
export interface RepeatsResult {
  /** Each seed's result, in seed order. */
  readonly runs: TrainResult[];
  /** Over the seeds, when there were several (also written to `repeats.json`). */
  readonly summary?: RepeatSummary;
}

/**
 * Trains `repeats` seeds of `config` (seed, seed+1, ...). One repeat runs in `opts.runDir`
 * itself; several run in `runDir/seed-<n>/` each, after which `repeats.json` holds the
 * configuration, the summary and the seeds' run directories. `runDir` must have been prepared
 * (`prepareRunDir`) or, with `resume`, hold the run to continue. Holds the directory's lock
 * (`lock.ts`) throughout; each seed's training locks its own run directory.
 */
export async function runRepeats(
  config: TrainConfig,
  repeats: number,
  opts: RunRepeatsOptions,
): Promise<RepeatsResult> {
  if (opts.runsOver && opts.processGroup)
    throw new Error('runRepeats: runsOver and processGroup exclude each other');
  // only rank 0 of either kind of group owns the directory (the others may not even have it);
  // it holds the group's lock over every seed (re-entrant)
  const owner = !(opts.runsOver?.group ?? opts.processGroup)?.rank;
  const lock = owner ? acquireLock(opts.runDir) : undefined;
  try {
    return await repeatsLocked(config, repeats, opts);
  } finally {
    lock?.release();
  }
}

async function repeatsLocked(
  config: TrainConfig,
  repeats: number,
  opts: RunRepeatsOptions,
): Promise<RepeatsResult> {
  const over = opts.runsOver;
  const mine = over ? runsOfRank(repeats, over.group.rank, over.group.worldSize) : undefined;
  const byIndex = new Map<number, TrainResult>();
  let failure: Error | undefined;
  try {
    for (const k of mine ?? Array.from({ length: repeats }, (_, i) => i))
      byIndex.set(k, await repeatOne(config, repeats, k, opts));
  } catch (e) {
    if (!over) throw e;
    failure = e as Error; // published, so the other ranks stop with it
  }
  const all = over ? await gatherRuns(over.group, 'repeats/results', failure ?? byIndex, over) : byIndex;
  const runs = Array.from({ length: repeats }, (_, k) => all.get(k) as TrainResult);
  if (repeats <= 1) return { runs };
  const summary = summarizeRepeats(runs);
  if ((over?.group.rank ?? 0) === 0)
    writeRepeats(opts.runDir, { config, ...summary, runs: runs.map((r) => r.runDir) });
  return { runs, summary };
}

/**
 * Trains repeat `k`, seed `config.seed + k`; with `keepFinished`, as the run record finds its
 * directory: a finished run or one stopped by its time budget is read, an interrupted one
 * continues from its checkpoint, any other starts afresh.
 */
async function repeatOne(
  config: TrainConfig,
  repeats: number,
  k: number,
  opts: RunRepeatsOptions,
): Promise<TrainResult> {
  const seed = config.seed + k;
  const dir = repeats > 1 ? join(opts.runDir, seedDirName(seed)) : opts.runDir;
  const kept = opts.keepFinished && isRunDir(dir) ? inspectRun(dir) : null;
  if (kept?.status === 'finished' || kept?.status === 'stopped') {
    // a result.json of any age: the fields it lacks are not read of a finished seed
    const done = kept.result as TrainResult;
    opts.onSeed?.(seed, 'skip', done);
    return done;
  }
  const resume = kept ? kept.status !== 'new' : opts.resume === true;
  if (opts.keepFinished ? !resume : repeats > 1) prepareRunDir(dir, true);
  opts.onSeed?.(seed, resume ? 'resume' : 'start');
  const r = await train(kept && resume ? kept.config : { ...config, seed }, {
    runDir: dir,
    backend: opts.backend,
    resume,
    lrOverride: opts.lrOverride,
    beforeWrite: opts.beforeWrite,
    hooks: opts.hooks?.(seed),
    processGroup: opts.processGroup,
  });
  opts.onSeed?.(seed, 'done', r);
  return r;
}
