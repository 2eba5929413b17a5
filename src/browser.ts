/**
 * stcsnn for browsers: the same library (`src/lib`: the STC core, the networks, one training
 * step, SGD, the runaway monitor, the energy model) as the Node entry, without anything that
 * needs Node (file system, worker threads, the native backend, PNG/JPEG file readers, the
 * trainer over data sets, run directories, the CLI). Bundlers pick it through the `browser`
 * export condition of `stcsnn`, or import `stcsnn/browser` directly. `src/browser.test.ts`
 * fails when a bundle of this entry imports a `node:` module.
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
} from './lib/engine/browser-backend.js';
export { GRADIENTS, kernelConfigs, registerAll } from './lib/engine/kernel-registry.js';
export { valueAndGrads } from './lib/engine/grads.js';
export * from './lib/nn/index.js';
export * from './lib/train/index.js';
export * from './lib/analysis/index.js';
export * from './lib/interop/safetensors.js';
export * from './lib/interop/state-dict.js';
export * from './lib/interop/model-codec.js';
export { normalizeInPlace, checkNormalization } from './lib/data/normalize.js';
export { parseIdxRaw, type IdxArray, type IdxKind } from './lib/data/idx-format.js';
export { DataError, type Normalization } from './lib/data/types.js';
