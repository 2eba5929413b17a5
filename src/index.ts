/**
 * stcsnn: spike-train level spiking neural networks with spatio-temporal conversion.
 *
 * This entry is for Node (it includes backend selection, data sets and the trainer); the
 * browser-safe STC core alone is `stcsnn/core`.
 *
 * @module stcsnn
 */
export * from './lib/core/index.js';
export {
  initBackend,
  activeBackend,
  parseBackend,
  BACKENDS,
  type BackendOptions,
  type BackendRequest,
  type BackendName,
  type BackendInfo,
} from './lib/engine/backend.js';
export { Module, type ForwardOptions, type NamedVariable, type ParamOptions } from './lib/nn/module.js';
export { SeedStream } from './lib/nn/init.js';
export type { BatchNormSync } from './lib/nn/sync-bn.js';
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
} from './lib/nn/layers.js';
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
} from './lib/nn/models.js';
export * from './lib/nn/arch-config.js';
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
} from './lib/nn/plan.js';
export { SpikeStatsRecorder, type LayerSpikeStats, type SpikeStatsSink } from './lib/nn/stats.js';
export { batchNormTrain, type BatchNormTrainResult } from './lib/nn/kernels.js';
export { train, type TrainHooks, type TrainOptions } from './app/train/train.js';
export {
  AUGMENT_MODES,
  TRAIN_DEFAULTS,
  checkTrainConfig,
  runOptionsSchema,
  trainConfigSchema,
  type ConfigValue,
  type ConfigValues,
  type RunOptions,
  type TrainConfig,
} from './app/config/config.js';
export {
  PAPER_PROTOCOL,
  PRESETS,
  PRESET_NAMES,
  presetDescription,
  presetValues,
  type PaperDataset,
  type PaperProtocol,
  type PresetName,
} from './app/config/presets.js';
export {
  resolveTrainConfig,
  type ConfigSource,
  type ResolvedConfig,
  type ResolveOptions,
} from './app/config/resolve.js';
export { evaluate, type EvalResult } from './app/train/evaluate.js';
export {
  MONITOR_SAMPLES,
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  findRunaway,
  runawayWarning,
  stcbFigures,
  type Runaway,
  type RunawayRemedies,
} from './app/train/monitor.js';
export { Sgd, sgdFor, type SgdOptions } from './app/train/sgd.js';
export { SGD_DEFAULTS } from './app/config/sgd-defaults.js';
export {
  learningRate,
  LR_SCHEDULES,
  type LrSchedule,
  type LrScheduleName,
} from './app/config/lr-schedule.js';
export { valueAndGrads } from './lib/engine/grads.js';
export { GRADIENTS, kernelConfigs, registerAll } from './lib/engine/kernels.js';
export {
  crossEntropy,
  NumericalError,
  trainStep,
  type Classifier,
  type StepOptions,
  type TrainStepResult,
} from './app/train/step.js';
export {
  openDataset,
  datasetInfo,
  DATASET_NAMES,
  type DatasetEntry,
  type DatasetName,
  type OpenOptions,
} from './lib/data/registry.js';
export { DataLoader, type AugmentOptions, type LoaderOptions, type LoaderStats } from './lib/data/loader.js';
export type { Dataset, Batch, Normalization } from './lib/data/types.js';
export { DataError } from './lib/data/types.js';
export {
  dataFingerprint,
  fingerprintFiles,
  labelsHash,
  type DataFingerprint,
} from './lib/data/fingerprint.js';
export { buildInfo, type BuildInfo } from './lib/util/build-info.js';
export * from './app/analysis/index.js';
export * from './app/rundir/index.js';
export * from './app/runs/index.js';
export * from './lib/distributed/index.js';
export * from './lib/interop/index.js';
