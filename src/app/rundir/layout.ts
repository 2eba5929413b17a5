/**
 * The layout of run, repeat-group and sweep directories, written once: every reader and
 * writer (the file formats beside this file, the trainer, `stcsnn train`/`sweep`/`report`/
 * `energy`, the analysis readers) takes its file names and sub-folder rules from here.
 *
 * ```
 * <run>/                     one training run
 *   config.json              the resolved TrainConfig (written first; --resume reads it)
 *   log.jsonl                one EpochMetrics line per finished epoch (log-file.ts)
 *   last.safetensors         the latest epoch's checkpoint (weights + optimizer; the commit point)
 *   best.safetensors         the checkpoint of the best test accuracy so far
 *   result.json              the final result (written last: "finished", or stopped early by
 *                            the time budget: `stopped_by`; `runStatus` in run-record.ts decides)
 * <group>/                   a repeat group (`train --repeats N`)
 *   repeats.json             the configuration, mean / stddev / best, the seeds' run directories
 *   seed-<n>/                one run per seed
 * <sweep>/                   a theta0 x T sweep (`stcsnn sweep`)
 *   sweep.json, sweep.csv    the grid and every point's result
 *   points/T<T>_theta0-<v>/  one run per grid point
 * <any of them>/stcsnn.lock  held by the process writing the directory (see `lock.ts`)
 * ```
 *
 * A leaf module (no imports beyond `node:path`), so that any layer may depend on it.
 */
import { join } from 'node:path';

/** The files of a run directory (and a repeat group's `repeats.json`), by role. */
export const RUN_FILES = {
  config: 'config.json',
  log: 'log.jsonl',
  last: 'last.safetensors',
  best: 'best.safetensors',
  result: 'result.json',
  repeats: 'repeats.json',
} as const;

/** A role in {@link RUN_FILES}. */
export type RunFile = keyof typeof RUN_FILES;

/** The path of a run directory's file. */
export function runFile(dir: string, file: RunFile): string {
  return join(dir, RUN_FILES[file]);
}

/** Every file name a training run writes (what `--force` removes before a new run). */
export const RUN_FILE_NAMES: readonly string[] = Object.values(RUN_FILES);

/** The checkpoints of a run, in the order a model reader prefers them (best, else last). */
export const MODEL_FILES = [RUN_FILES.best, RUN_FILES.last] as const;

/** The checkpoints of a run, in the order its input geometry is read (last, else best). */
export const CHECKPOINT_FILES = [RUN_FILES.last, RUN_FILES.best] as const;

/** The folder name of a repeat group's run for `seed`. */
export function seedDirName(seed: number): string {
  return `seed-${seed}`;
}

/** The seed of a repeat group's folder name, or null when `name` is not one. */
export function seedOfDirName(name: string): number | null {
  const m = /^seed-(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** The files of a sweep directory. */
export const SWEEP_FILES = {
  sweep: 'sweep.json',
  csv: 'sweep.csv',
} as const;

/**
 * The lock file of a directory being written (a run, a repeat group, a sweep, an experiment):
 * `{pid, host, command, since}` of the writer; see `lock.ts`.
 */
export const LOCK_FILE = 'stcsnn.lock';

/** The path of a sweep directory's file. */
export function sweepFile(dir: string, file: keyof typeof SWEEP_FILES): string {
  return join(dir, SWEEP_FILES[file]);
}

/** The folder under a sweep directory that holds one run directory per point. */
export const SWEEP_POINTS = 'points';

/** The id (and folder name under `points/`) of the grid point (T, theta0). */
export function pointId(T: number, theta0: number): string {
  return `T${T}_theta0-${theta0}`;
}

/** A point's run directory relative to the sweep directory. */
export function pointDir(id: string): string {
  return join(SWEEP_POINTS, id);
}
