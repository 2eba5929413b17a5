/**
 * The one place where a reproduction's run configuration is built: an experiment's protocol at a
 * scale, the run's mode, gradient mask and grid point, and the resolved data, on top of the
 * trainer's defaults, validated like a `config.json`. (When the training configuration's schema
 * changes, this adapter is the only code here that changes with it.)
 */
import type { GradientMask } from '../../lib/core/config.js';
import { datasetInfo } from '../../lib/data/registry.js';
import { checkTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import type { ResolvedData } from './resolve-data.js';
import type { Experiment, ScaleProtocol } from './experiments.js';

/** What varies between the runs of one experiment. */
export interface RunSpec {
  readonly mode: 'stc' | 'ann';
  /** The STC run's mask (an ANN run keeps the trainer's default: the field does not act on it). */
  readonly gradient: GradientMask;
  /** Spike-train length; default 8 (the paper's T for Table 2 and the theta0 study). */
  readonly T?: number;
  /** Initial threshold; default the data set's (0.8 static images, 2 DVS). */
  readonly theta0?: number;
}

/** The paper's T for Table 2 and the theta0 study. */
export const PAPER_T = 8;

/**
 * The run configuration of `run` in experiment `exp` at protocol `p` on `data`. Fields the
 * protocol does not set keep the trainer's defaults (batch 32, SGD lr 0.1, momentum 0.9, weight
 * decay 5e-4, tau 2, the exp schedule, seed 0), exactly as `stcsnn train` with the same flags
 * would, so that runs made with `stcsnn train`/`sweep` can be adopted. The STC-only fields
 * (mask, threshold mode) of an ANN run stay at the trainer's defaults, so that one ANN twin
 * serves every training method of the STC runs.
 */
export function trainConfigFor(
  exp: Experiment,
  p: ScaleProtocol,
  run: RunSpec,
  data: ResolvedData,
): TrainConfig {
  const d = TRAIN_DEFAULTS;
  const value: TrainConfig = {
    ...d,
    dataset: data.dataset,
    ...(data.dataDir !== undefined ? { dataDir: data.dataDir } : {}),
    datasetOptions: {},
    arch: p.arch,
    mode: run.mode,
    width: p.width,
    epochs: p.epochs,
    lrSchedule: p.lrSchedule,
    stc: {
      ...d.stc,
      T: run.T ?? PAPER_T,
      theta0: run.theta0 ?? datasetInfo(p.dataset).theta0,
      ...(run.mode === 'stc' ? { gradient: run.gradient, learnTheta: p.learnTheta ?? 'off' } : {}),
    },
    ...(p.limitTrain !== undefined ? { limitTrain: p.limitTrain } : {}),
    ...(p.limitTest !== undefined ? { limitTest: p.limitTest } : {}),
    ...(p.timeBudget !== undefined ? { timeBudget: p.timeBudget } : {}),
  };
  return checkTrainConfig(value, `experiment ${exp.id}`);
}
