/**
 * stcsnn for browsers: the same `src/core`, `src/nn` and `src/train` code as the Node entry,
 * without anything that needs Node (file system, worker threads, the native backend, PNG/JPEG
 * file readers, the CLI). Bundlers pick it through the `browser` export condition of
 * `stcsnn`, or import `stcsnn/browser` directly. `src/browser/browser.test.ts` fails when
 * a bundle of this entry imports a `node:` module.
 *
 * What it adds: {@link initBrowserBackend} (WebGPU, WebGL, wasm, cpu) and {@link trainStep}.
 *
 * @module stcsnn/browser
 */
export * from './core/index.js';
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
} from './browser/backend.js';
export { registerGpuKernels } from './browser/gpu-kernels.js';
export { trainStep, type Classifier, type TrainStepResult } from './browser/train-step.js';
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
export { SpikeStatsRecorder, type LayerSpikeStats } from './nn/stats.js';
export { crossEntropy } from './train/evaluate.js';
export { Sgd, sgdFor, type SgdOptions } from './train/sgd.js';
export { learningRate, LR_SCHEDULES, type LrSchedule, type LrScheduleName } from './train/lr-schedule.js';
export { valueAndGrads } from './engine/grads.js';
export {
  computeEnergy,
  DEFAULT_ENERGY,
  type EnergyConstants,
  type EnergyReport,
  type LayerEnergy,
} from './analysis/energy.js';
export * from './interop/safetensors.js';
export * from './interop/state-dict.js';
export * from './interop/model-codec.js';
export { normalizeInPlace, checkNormalization } from './data/normalize.js';
export { parseIdxRaw, type IdxArray, type IdxKind } from './data/idx-format.js';
export { DataError, type Normalization } from './data/types.js';
