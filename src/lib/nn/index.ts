/**
 * The network API: modules and layers, the architectures (VGG, ResNet-18) and their plan, the
 * spike statistics, batch norm's training kernel. Browser-safe: both entries (`src/index.ts`,
 * `src/browser.ts`) export this list.
 */
export { Module, type ForwardOptions, type NamedVariable, type ParamOptions } from './module.js';
export { SeedStream } from './init.js';
export type { BatchNormSync } from './sync-bn.js';
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
} from './layers.js';
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
} from './models.js';
export * from './arch-config.js';
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
} from './plan.js';
export { SpikeStatsRecorder, type LayerSpikeStats, type SpikeStatsSink } from './stats.js';
export { batchNormTrain, type BatchNormTrainResult } from './batch-norm-kernel.js';
