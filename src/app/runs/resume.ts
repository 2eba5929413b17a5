/**
 * Planning a `--resume`: which run it continues, whether its `config.json` was edited since the
 * run started (refused, naming the changed fields), what state it is in (the run record's
 * `inspectRun` and {@link runStatus}, `src/app/rundir/run-record.ts`: the one place that decides
 * whether a run is finished, stopped early or interrupted), and extending
 * it to more epochs (`--resume RUN --epochs N`).
 *
 * Extension and the learning-rate schedules: the schedule is a function of the run's total
 * epochs (`src/lib/train/lr-schedule.ts`), and an extended run's total is the new N. `cosine` is therefore
 * recomputed over the new total and continues from the resumed step: at step `i` of the new
 * `N * perEpoch` steps the rate is `lr0 * (1 + cos(pi * i / (N * perEpoch))) / 2` (a finished
 * run's rate, near 0, rises to that value and decays to 0 at the new end); `step` and
 * `constant` depend on the epoch alone and simply continue.
 */
import { ConfigError } from '../../lib/core/config.js';
import type { TrainConfig } from '../config/config.js';
import { writeRunConfig } from '../rundir/config-file.js';
import { RUN_FILES } from '../rundir/layout.js';
import type { StopReason } from '../rundir/result-file.js';
import { inspectRun, type RunStatus } from '../rundir/run-record.js';

export { runStatus, type RunStatus } from '../rundir/run-record.js';

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
  const { config: saved, doneEpochs, status, stoppedBy } = inspectRun(dir);
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
  return { dir, config, doneEpochs, status, stoppedBy, rewrite };
}

/**
 * Applies a plan before training (holding the lock), once every check has passed (the trainer
 * calls it through `TrainOptions.beforeWrite`, after the data, the checkpoint and `log.jsonl`
 * were read): `config.json` rewritten with the changed fields. (The run record then removes
 * the `result.json` of a finished or stopped run: a continued run is unfinished until it writes
 * its new result.)
 */
export function applyResume(plan: ResumePlan): void {
  if (plan.rewrite) writeRunConfig(plan.dir, plan.config);
}
