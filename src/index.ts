/**
 * stcsnn: spike-train level spiking neural networks with spatio-temporal conversion.
 *
 * This entry is for Node (it includes backend selection, data sets and the trainer); the
 * browser-safe STC core alone is `stcsnn/core`.
 *
 * @module stcsnn
 */
export * from './core/index.js';
export {
  initBackend,
  activeBackend,
  parseBackend,
  BACKENDS,
  type BackendOptions,
  type BackendRequest,
  type BackendName,
  type BackendInfo,
} from './engine/backend.js';
export { Module, type ForwardOptions, type NamedVariable, type ParamOptions } from './nn/module.js';
export { SeedStream } from './nn/init.js';
export type { BatchNormSync } from './nn/sync-bn.js';
export {
  BatchNorm,
  Conv2d,
  Linear,
  StcConv2d,
  StcLinear,
  NET_MODES,
  type LearnedThreshold,
  type NetMode,
  type Activation,
  type ConvSpec,
} from './nn/layers.js';
export {
  ARCHS,
  buildNetwork,
  checkArchConfig,
  Network,
  ResNet18,
  Vgg,
  type Arch,
  type ArchConfig,
  type LayerInfo,
  type LayerKind,
} from './nn/models.js';
export {
  planNetwork,
  planParameters,
  checkPlanConfig,
  convOutShape,
  weightMacs,
  INPUT as PLAN_INPUT,
  type NetworkPlan,
  type PlanLayer,
  type PlanConfig,
  type PlanParameter,
} from './nn/plan.js';
export { SpikeStatsRecorder, type LayerSpikeStats, type SpikeStatsSink } from './nn/stats.js';
export { batchNormTrain, type BatchNormTrainResult } from './nn/kernels.js';
export {
  train,
  readRunConfig,
  type TrainResult,
  type EpochMetrics,
  type TrainHooks,
  type TrainOptions,
} from './train/train.js';
export {
  AUGMENT_MODES,
  TRAIN_DEFAULTS,
  checkTrainConfig,
  trainConfigSchema,
  type ConfigValue,
  type ConfigValues,
  type TrainConfig,
} from './train/config.js';
export {
  PAPER_PROTOCOL,
  PRESETS,
  PRESET_NAMES,
  presetValues,
  type PaperDataset,
  type PaperProtocol,
  type PresetName,
} from './train/presets.js';
export {
  resolveTrainConfig,
  type ConfigSource,
  type ResolvedConfig,
  type ResolveOptions,
} from './train/resolve.js';
export { evaluate, crossEntropy, type EvalResult } from './train/evaluate.js';
export {
  MONITOR_SAMPLES,
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  findRunaway,
  runawayWarning,
  stcbFigures,
  type Runaway,
  type RunawayRemedies,
  type StcbBnFigures,
  type StcbFigures,
} from './train/monitor.js';
export { Sgd, sgdFor, type SgdOptions } from './train/sgd.js';
export { learningRate, LR_SCHEDULES, type LrSchedule, type LrScheduleName } from './train/lr-schedule.js';
export { valueAndGrads } from './engine/grads.js';
export { trainStep, type Classifier, type TrainStepResult } from './browser/train-step.js';
export {
  openDataset,
  datasetInfo,
  DATASET_NAMES,
  type DatasetEntry,
  type DatasetName,
  type OpenOptions,
} from './data/registry.js';
export { DataLoader, type AugmentOptions, type LoaderOptions, type LoaderStats } from './data/loader.js';
export type { Dataset, Batch, Normalization } from './data/types.js';
export { DataError } from './data/types.js';
export * from './analysis/index.js';
export * from './run/index.js';
export * from './distributed/index.js';
export * from './interop/index.js';
