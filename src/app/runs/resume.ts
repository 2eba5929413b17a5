/**
 * Planning a `--resume`: which run it continues, whether its `config.json` was edited since the
 * run started (refused, naming the changed fields), what state it is in ({@link runStatus}: the
 * one place that decides whether a run is finished, stopped early or interrupted), and extending
 * it to more epochs (`--resume RUN --epochs N`).
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
import { readResult, type RunResultFile, type StopReason } from '../rundir/result-file.js';

/**
 * The state of a run directory, decided by {@link runStatus} alone:
 * - `new`: no epoch committed yet (nothing to resume from: a resume trains from the start);
 * - `interrupted`: epochs committed, no `result.json` (killed, Ctrl-C, a failure): `--resume` continues;
 * - `stopped`: `result.json` written after fewer epochs than the configuration asks for, by the
 *   time budget (`stopped_by: "time-budget"`, or a run too old to record why): `--resume` continues
 *   to the asked epochs (raise `--time-budget` to train more than one epoch per resume);
 * - `finished`: `result.json` after every asked epoch, or after a hook's early stop: `--resume`
 *   needs `--epochs N` to extend it.
 */
export type RunStatus = 'new' | 'interrupted' | 'stopped' | 'finished';

/**
 * The one decision of a run's state (see {@link RunStatus}), from the epochs its last checkpoint
 * committed, the epochs its configuration asks for and its `result.json` (null when absent).
 */
export function runStatus(
  doneEpochs: number,
  epochs: number,
  result: Pick<RunResultFile, 'stopped_by'> | null,
): RunStatus {
  if (result === null) return doneEpochs === 0 ? 'new' : 'interrupted';
  return doneEpochs < epochs && result.stopped_by !== 'early-stop' ? 'stopped' : 'finished';
}

/** What a resume will do. */
export interface ResumePlan {
  readonly dir: string;
  /** The configuration to continue with (`epochs` and the other resumable fields applied). */
  readonly config: TrainConfig;
  /** Epochs the run has finished (its last checkpoint's epoch + 1; 0 without a checkpoint). */
  readonly doneEpochs: number;
  /** The run's state before the resume ({@link runStatus}, with the saved configuration's epochs). */
  readonly status: RunStatus;
  /** Why a `stopped` run stopped (`result.json`'s `stopped_by`; null when it does not say). */
  readonly stoppedBy: StopReason | null;
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
 *   fields when a checkpoint holds the original), when `result.json` is not a valid result,
 *   when the run is finished ({@link runStatus}) and no larger
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
  const result = readResult(dir);
  const status = runStatus(doneEpochs, saved.epochs, result);
  if (changes.epochs === undefined && status === 'finished')
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
  return { dir, config, doneEpochs, status, stoppedBy: result?.stopped_by ?? null, rewrite };
}

/**
 * Applies a plan before training (holding the lock), once every check has passed (the trainer
 * calls it through `TrainOptions.beforeWrite`, after the data, the checkpoint and `log.jsonl`
 * were read): `config.json` rewritten with the changed fields, and the `result.json` of a
 * finished or stopped run removed (a continued run is unfinished until it writes its new
 * result; an interrupted continuation resumes like any run).
 */
export function applyResume(plan: ResumePlan): void {
  if (plan.rewrite) writeRunConfig(plan.dir, plan.config);
  if (plan.status === 'finished' || plan.status === 'stopped')
    rmSync(runFile(plan.dir, 'result'), { force: true });
}
