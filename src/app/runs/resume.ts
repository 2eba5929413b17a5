/**
 * Planning a `--resume`: which run it continues, whether its `config.json` was edited since the
 * run started (refused, naming the changed fields), whether it is finished, and extending it to
 * more epochs (`--resume RUN --epochs N`).
 *
 * Extension and the learning-rate schedules: the schedule is a function of the run's total
 * epochs (`src/lib/train/lr-schedule.ts`), and an extended run's total is the new N. `cosine` is therefore
 * recomputed over the new total and continues from the resumed step: at step `i` of the new
 * `N * perEpoch` steps the rate is `lr0 * (1 + cos(pi * i / (N * perEpoch))) / 2` (a finished
 * run's rate, near 0, rises to that value and decays to 0 at the new end); `step` and
 * `constant` depend on the epoch alone and simply continue.
 */
import { existsSync, rmSync } from 'node:fs';
import { ConfigError } from '../../lib/core/config.js';
import { configHash } from '../config/config-hash.js';
import type { TrainConfig } from '../config/config.js';
import { checkResumeConfig, readRunState } from '../rundir/checkpoint.js';
import { readRunConfig, storedConfigHash, writeRunConfig } from '../rundir/config-file.js';
import { runFile, RUN_FILES } from '../rundir/layout.js';

/** What a resume will do. */
export interface ResumePlan {
  readonly dir: string;
  /** The configuration to continue with (`epochs` and the other resumable fields applied). */
  readonly config: TrainConfig;
  /** Epochs the run has finished (its last checkpoint's epoch + 1; 0 without a checkpoint). */
  readonly doneEpochs: number;
  /** Whether the run had finished (`result.json`). */
  readonly finished: boolean;
  /** Whether `config.json` changes (resumable fields given): it is rewritten before training. */
  readonly rewrite: boolean;
}

/** Values a resume may change (`RESUME_MAY_CHANGE`), as given. */
export interface ResumeChanges {
  readonly epochs?: number;
  readonly timeBudget?: number;
  readonly dataDir?: string;
}

/**
 * Checks the run in `dir` and plans its resume (reads only; call it while holding the lock).
 * @throws ConfigError when `config.json` was edited since the run started (naming the changed
 *   fields when a checkpoint holds the original), when the run is finished and no larger
 *   `epochs` is given, or when `epochs` is not more than the epochs already trained
 */
export function planResume(dir: string, changes: ResumeChanges = {}): ResumePlan {
  const saved = readRunConfig(dir);
  const cfgPath = runFile(dir, 'config');
  const last = runFile(dir, 'last');
  const hasCheckpoint = existsSync(last);
  if (hasCheckpoint) checkResumeConfig(last, saved, cfgPath);
  else {
    const stored = storedConfigHash(dir);
    if (stored !== undefined && stored !== configHash(saved))
      throw new ConfigError(
        `${cfgPath} was edited after the run started (its config_hash no longer matches); a resume may change only epochs, timeBudget and dataDir (train another configuration in a new run directory)`,
      );
  }
  const doneEpochs = hasCheckpoint ? readRunState(last).epoch + 1 : 0;
  const finished = existsSync(runFile(dir, 'result'));
  if (changes.epochs === undefined && finished)
    throw new ConfigError(
      `${dir} is finished (${doneEpochs} epochs, ${RUN_FILES.result}); to train it further, extend it: --resume ${dir} --epochs N with N > ${doneEpochs}`,
    );
  if (changes.epochs !== undefined && changes.epochs <= doneEpochs)
    throw new ConfigError(
      `--epochs ${changes.epochs}: ${dir} has trained ${doneEpochs} epochs already; give more to extend it`,
    );
  const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  const config = { ...saved, ...given } as TrainConfig;
  const rewrite = Object.entries(given).some(([k, v]) => saved[k as keyof TrainConfig] !== v);
  return { dir, config, doneEpochs, finished, rewrite };
}

/**
 * Applies a plan before training (holding the lock), once every check has passed (the trainer
 * calls it through `TrainOptions.beforeWrite`, after the data, the checkpoint and `log.jsonl`
 * were read): `config.json` rewritten with the changed fields, and a finished run's
 * `result.json` removed (an extended run is unfinished until its
 * new last epoch; an interrupted extension resumes like any run).
 */
export function applyResume(plan: ResumePlan): void {
  if (plan.rewrite) writeRunConfig(plan.dir, plan.config);
  if (plan.finished) rmSync(runFile(plan.dir, 'result'), { force: true });
}
