/**
 * stcsnn for browsers: the same `src/lib/core`, `src/lib/nn` and `src/app/train` code as the Node entry,
 * without anything that needs Node (file system, worker threads, the native backend, PNG/JPEG
 * file readers, the CLI). Bundlers pick it through the `browser` export condition of
 * `stcsnn`, or import `stcsnn/browser` directly. `src/app/browser/browser.test.ts` fails when
 * a bundle of this entry imports a `node:` module.
 *
 * What it adds: {@link initBrowserBackend} (WebGPU, WebGL, wasm, cpu), {@link trainStep} and the
 * runaway monitor ({@link StcbMonitor}, {@link stcbFigures}, {@link findRunaway}).
 *
 * @module stcsnn/browser
 */
export * from './lib/core/index.js';
export {
  BROWSER_BACKENDS,
  BROWSER_BACKEND_ORDER,
  initBrowserBackend,
  activeBrowserBackend,
  parseBrowserBackend,
  softwareWebGl,
  type BrowserBackendName,
  type BrowserBackendOptions,
  type BrowserBackendRequest,
} from './app/browser/backend.js';
export { GRADIENTS, kernelConfigs, registerAll } from './lib/engine/kernels.js';
export {
  NumericalError,
  trainStep,
  type Classifier,
  type StepOptions,
  type TrainStepResult,
} from './app/train/step.js';
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
export { SpikeStatsRecorder, type LayerSpikeStats } from './lib/nn/stats.js';
export { crossEntropy } from './app/train/step.js';
export {
  findRunaway,
  MONITOR_SAMPLES,
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  stcbFigures,
  type Runaway,
} from './app/train/monitor.js';
export type { StcbFigures } from './app/rundir/log-file.js';
export { stcbTable, type StcbRowFigures } from './app/analysis/stcb-rows.js';
export { Sgd, sgdFor, type SgdOptions } from './app/train/sgd.js';
export { SGD_DEFAULTS } from './app/config/sgd-defaults.js';
export {
  learningRate,
  LR_SCHEDULES,
  type LrSchedule,
  type LrScheduleName,
} from './app/config/lr-schedule.js';
export { valueAndGrads } from './lib/engine/grads.js';
export {
  computeEnergy,
  DEFAULT_ENERGY,
  type EnergyConstants,
  type EnergyReport,
  type LayerEnergy,
} from './app/analysis/energy.js';
export * from './lib/interop/safetensors.js';
export * from './lib/interop/state-dict.js';
export * from './lib/interop/model-codec.js';
export { normalizeInPlace, checkNormalization } from './lib/data/normalize.js';
export { parseIdxRaw, type IdxArray, type IdxKind } from './lib/data/idx-format.js';
export { DataError, type Normalization } from './lib/data/types.js';
