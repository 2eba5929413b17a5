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
  backendLabel,
} from './lib/engine/backend.js';
export {
  PRECISIONS,
  NATIVE_BF16_FLAGS,
  BF16_SHOWN_EQUAL,
  parsePrecision,
  resolvePrecision,
  cpuBf16,
  cpuBf16From,
  type Precision,
  type PrecisionRequest,
  type PrecisionChoice,
  type PrecisionTarget,
  type CpuBf16,
} from './lib/engine/precision.js';
export * from './lib/nn/index.js';
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
export { hashedConfig, type HashedConfig } from './app/config/config-hash.js';
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
export { runawayWarning, type RunawayRemedies } from './app/train/runaway-warning.js';
export * from './lib/train/index.js';
export * from './lib/analysis/index.js';
export { valueAndGrads } from './lib/engine/grads.js';
export { GRADIENTS, kernelConfigs, registerAll } from './lib/engine/kernel-registry.js';
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
