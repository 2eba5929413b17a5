/**
 * Backend selection in a browser: `auto | webgpu | webgl | wasm | cpu`.
 *
 * `auto` takes the first of {@link BROWSER_BACKEND_ORDER} that initialises here. `wasm` and
 * `cpu` come with this entry; `webgpu` and `webgl` are used when the page has imported
 * `@tensorflow/tfjs-backend-webgpu` / `@tensorflow/tfjs-backend-webgl` (they are not
 * dependencies of the library).
 *
 * The stcsnn kernels: `cpu` and `wasm` get the array kernels of `src/core` (the same as in
 * Node); a GPU backend gets the kernels written with TensorFlow.js ops ({@link registerGpuKernels}).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../core/config.js';
import { ARRAY_BACKENDS } from '../core/kernels/array-kernel.js';
import {
  registerStcKernels,
  STC_ENCODE,
  STC_QUANTIZE,
  STC_QUANTIZE_GRAD,
  STC_SPIKE_COUNT,
} from '../core/kernels/stc-kernels.js';
import { registerForwardConvGradients } from '../engine/conv-grad.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerNnKernels } from '../nn/kernels.js';
import { SGD_STEP } from '../train/sgd.js';

/** Backends a browser page can ask for. */
export const BROWSER_BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** A backend request in a browser. */
export type BrowserBackendRequest = (typeof BROWSER_BACKENDS)[number];
/** A backend that runs. */
export type BrowserBackendName = Exclude<BrowserBackendRequest, 'auto'>;
/** The order `auto` tries: fastest first. */
export const BROWSER_BACKEND_ORDER: readonly BrowserBackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Options of {@link initBrowserBackend}. */
export interface BrowserBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` files: a URL prefix ending in `/`, or a map from
   * file name (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`,
   * `tfjs-backend-wasm-threaded-simd.wasm`) to URL. Default: tfjs's (next to the script).
   */
  readonly wasmPaths?: string | Record<string, string>;
}

/** Checks a backend request (e.g. from a URL parameter). */
export function parseBrowserBackend(value: string): BrowserBackendRequest {
  if ((BROWSER_BACKENDS as readonly string[]).includes(value)) return value as BrowserBackendRequest;
  throw new ConfigError(`backend must be one of ${BROWSER_BACKENDS.join(', ')}; got ${value}`);
}

/**
 * STEB on one tensor with ops, for GPU backends: `V(0) = x; s(t) = [V(t) (>=|>) theta(t)];
 * V(t+1) = V(t) - s(t) theta(t)`. Returns the spike train `[T, ...shape]` and `q = sum_t theta(t) s(t)`.
 * Negative inputs never fire since every threshold is positive. Computed in float32.
 */
function stebOps(
  x: tf.Tensor,
  th: readonly number[],
  strict: boolean,
): { spikes: tf.Tensor[]; q: tf.Tensor } {
  let v = x;
  let q = tf.zerosLike(x);
  const spikes: tf.Tensor[] = [];
  for (const theta of th) {
    const s = tf.cast(strict ? tf.greater(v, theta) : tf.greaterEqual(v, theta), 'float32');
    const fired = tf.mul(s, theta);
    v = tf.sub(v, fired);
    q = tf.add(q, fired);
    spikes.push(s);
  }
  return { spikes, q };
}

function gpuKernel(
  name: string,
  backendName: string,
  fn: (inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => tf.Tensor | tf.Tensor[],
): void {
  if (tf.getKernel(name, backendName)) return;
  tf.registerKernel({
    kernelName: name,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const named: tf.NamedTensorMap = {};
      const made: tf.Tensor[] = [];
      for (const [k, v] of Object.entries(inputs)) {
        const t = v instanceof tf.Tensor ? v : tf.engine().makeTensorFromTensorInfo(v as tf.TensorInfo);
        if (!(v instanceof tf.Tensor)) made.push(t);
        named[k] = t;
      }
      const out = tf.tidy(() => fn(named, (attrs ?? {}) as Record<string, unknown>));
      tf.dispose(made);
      return out;
    },
  });
}

/**
 * Registers the stcsnn kernels for a GPU backend: STEB/CAB and the spike count with ops (as
 * {@link stebOps}), and the ops kernels of batch norm and SGD that `cpu`/`wasm` use (they are
 * backend-independent: ops run on the active backend). SGD's kernel exists once an `Sgd` was
 * made; without it `Sgd.step` uses the same ops.
 */
export function registerGpuKernels(backendName: string): void {
  const attrs = (a: Record<string, unknown>) => ({ th: a.thresholds as number[], strict: a.strict === true });
  gpuKernel(STC_QUANTIZE, backendName, (i, a) => stebOps(i.x, attrs(a).th, attrs(a).strict).q);
  gpuKernel(STC_ENCODE, backendName, (i, a) => tf.stack(stebOps(i.x, attrs(a).th, attrs(a).strict).spikes));
  gpuKernel(STC_SPIKE_COUNT, backendName, (i, a) =>
    tf.addN(stebOps(i.x, attrs(a).th, attrs(a).strict).spikes),
  );
  gpuKernel(STC_QUANTIZE_GRAD, backendName, (i, a) => {
    const upper = typeof a.upper === 'number' ? a.upper : Infinity;
    const mask = tf.logicalAnd(tf.greater(i.x, 0), tf.less(i.x, upper));
    return tf.where(mask, i.dy, tf.zerosLike(i.dy));
  });
  for (const name of [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, SGD_STEP]) {
    const k = tf.getKernel(name, ARRAY_BACKENDS[0]);
    if (k && !tf.getKernel(name, backendName)) tf.registerKernel({ ...k, backendName });
  }
}

let current: BrowserBackendName | undefined;

/**
 * Makes `request` the active TensorFlow.js backend with gradients and the stcsnn kernels.
 * @returns the backend that runs
 * @throws ConfigError for an unknown request; Error when a requested backend cannot start
 */
export async function initBrowserBackend(
  request: BrowserBackendRequest = 'auto',
  opts: BrowserBackendOptions = {},
): Promise<BrowserBackendName> {
  parseBrowserBackend(request);
  if (current && (request === 'auto' || request === current) && tf.getBackend() === current) return current;
  tf.enableProdMode();
  registerStcKernels();
  registerNnKernels();
  if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
  const order = request === 'auto' ? BROWSER_BACKEND_ORDER : [request];
  const failures: string[] = [];
  for (const name of order) {
    if (!tf.findBackendFactory(name)) {
      failures.push(`${name}: not loaded`);
      continue;
    }
    if (name === 'wasm') registerForwardConvGradients('wasm');
    if (name === 'webgl' || name === 'webgpu') registerGpuKernels(name);
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    if (ok) {
      current = name;
      return name;
    }
    failures.push(`${name}: failed to initialise`);
  }
  throw new Error(`no backend could start (${failures.join('; ')})`);
}

/** The backend {@link initBrowserBackend} chose, or undefined before. */
export function activeBrowserBackend(): BrowserBackendName | undefined {
  return current;
}
