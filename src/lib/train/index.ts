/**
 * Training pieces that need no Node: one SGD step of cross-entropy training (or distillation), SGD with its
 * defaults, the learning-rate schedules, and the runaway monitor with its rule. Both entries
 * (`src/index.ts`, `src/browser.ts`) export this list; the trainer that runs epochs over data
 * sets and writes run directories is the application's (`src/app/train/`).
 */
export {
  crossEntropy,
  NumericalError,
  trainStep,
  type Classifier,
  type StepOptions,
  type TrainStepResult,
} from './step.js';
export {
  checkDistillWeights,
  DISTILL_DEFAULTS,
  distillationLoss,
  softTargetLoss,
  type Distillation,
  type DistillWeights,
  type Teacher,
} from './distill.js';
export { Sgd, sgdFor, type SgdOptions } from './sgd.js';
export { SGD_DEFAULTS } from './sgd-defaults.js';
export { learningRate, LR_SCHEDULES, type LrSchedule, type LrScheduleName } from './lr-schedule.js';
export {
  findRunaway,
  MONITOR_SAMPLES,
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  stcbFigures,
  type Runaway,
  type StcbBnFigures,
  type StcbFigures,
} from './monitor.js';
