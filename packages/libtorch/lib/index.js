/**
 * stcsnn-libtorch: a TensorFlow.js backend over libtorch (ATen), registered as `libtorch`.
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs-core';
 * import { registerLibtorchBackend } from 'stcsnn-libtorch';
 * await registerLibtorchBackend({ threads: 2, device: 'cpu', strict: false });
 * await tf.setBackend('libtorch');
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { availableParallelism } from 'node:os';
import { LibtorchBackend } from './backend.js';
import { fallbackKernel, runOnCpu } from './fallback.js';
import { nativeKernels } from './kernels.js';
import { loadAddon, ADDON_PATH, builtAgainst } from './native.js';

export { LibtorchBackend, ADDON_PATH };
export { distAvailability, initNativeProcessGroup, NativeProcessGroup } from './dist.js';

/** The name the backend is registered under. */
export const BACKEND_NAME = 'libtorch';

/** @type {LibtorchBackend | undefined} */
let instance;
/** @type {Set<string>} */
const nativeNames = new Set();
/** @type {{ threads: number, device: string, strict: boolean } | undefined} */
let settings;

/** @param {unknown} e */
function unsupportedReason(e) {
  const m = e instanceof Error ? /(?:^|: )unsupported: (.*)$/.exec(e.message) : null;
  return m ? m[1] : undefined;
}

/** @param {string} name @param {(args: any) => any} impl @returns {tf.KernelFunc} */
function wrap(name, impl) {
  return (args) => {
    const be = /** @type {LibtorchBackend} */ (/** @type {unknown} */ (args.backend));
    try {
      return impl(args);
    } catch (e) {
      const why = unsupportedReason(e);
      if (why === undefined || !tf.getKernel(name, 'cpu')) throw e;
      be.flushTemps();
      be.noteFallback(name, why);
      return runOnCpu(name, args);
    } finally {
      be.flushTemps();
    }
  };
}

/**
 * Registers fallbacks (cpu kernels) for every kernel registered for `cpu` and not natively for
 * `libtorch`. `registerLibtorchBackend` calls it; call it again after registering more cpu
 * kernels.
 * @returns {number} how many fallbacks were added
 */
export function registerFallbacks() {
  let n = 0;
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(k.kernelName, BACKEND_NAME)) continue;
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: fallbackKernel(k.kernelName),
    });
    n++;
  }
  return n;
}

/** @param {number | undefined} threads */
function resolveThreads(threads) {
  const env = process.env.STCSNN_THREADS;
  const n = threads ?? (env ? Number(env) : availableParallelism());
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`threads must be a positive integer; got ${threads ?? env}`);
  return n;
}

/**
 * Loads the addon and registers the `libtorch` backend with its kernels (once; later calls
 * update threads, device and strict mode).
 *
 * @param {{ threads?: number, device?: 'cpu' | 'cuda' | string, strict?: boolean, bf16?: boolean }} [opts]
 *   threads: libtorch intra-op threads (default `STCSNN_THREADS` or all available cores);
 *   device: `cpu` (default) or `cuda`; strict: make every fallback to the cpu backend an error;
 *   bf16: convolutions and their gradients in bfloat16 (float32 parameters, optimizer, batch
 *   norm and STC encoder; see src/common.h), on the CPU or CUDA (default `STCSNN_LIBTORCH_BF16=1`).
 * @returns {Promise<void>}
 * @throws Error (one line) when the addon is missing or cannot load, or CUDA is requested
 *   where libtorch has none
 */
export async function registerLibtorchBackend(opts = {}) {
  const addon = loadAddon();
  const threads = resolveThreads(opts.threads);
  const device = opts.device ?? 'cpu';
  if (device !== 'cpu' && !device.startsWith('cuda')) {
    throw new Error(`device must be cpu or cuda; got ${device}`);
  }
  if (device.startsWith('cuda')) {
    const c = addon.cudaInfo();
    if (!c.available) throw new Error(`device cuda: ${c.problem}`);
  }
  addon.setThreads(threads);
  addon.setDevice(device);
  const bf16 = opts.bf16 ?? process.env.STCSNN_LIBTORCH_BF16 === '1';
  addon.setAutocast(bf16);
  const strict = opts.strict ?? process.env.STCSNN_LIBTORCH_STRICT === '1';
  settings = { threads, device, strict };
  if (instance) {
    instance.strict = strict;
    instance.device = device;
  }
  if (!tf.findBackend(BACKEND_NAME)) {
    tf.registerBackend(
      BACKEND_NAME,
      () => {
        instance = new LibtorchBackend(addon, {
          strict: settings?.strict ?? false,
          device: settings?.device ?? 'cpu',
        });
        return instance;
      },
      1,
    );
  }
  for (const [name, impl] of Object.entries(nativeKernels(addon))) {
    if (nativeNames.has(name)) continue;
    if (tf.getKernel(name, BACKEND_NAME)) tf.unregisterKernel(name, BACKEND_NAME);
    tf.registerKernel({ kernelName: name, backendName: BACKEND_NAME, kernelFunc: wrap(name, impl) });
    nativeNames.add(name);
  }
  registerFallbacks();
}

/**
 * Whether the addon is built and loads here.
 * @returns {{ ok: true, torch: string, mkldnn: boolean, cuda: boolean } | { ok: false, reason: string }}
 */
export function libtorchAvailability() {
  try {
    const v = loadAddon().version();
    return { ok: true, torch: v.torch, mkldnn: v.mkldnn, cuda: v.cuda };
  } catch (e) {
    return { ok: false, reason: /** @type {Error} */ (e).message };
  }
}

/** @returns {Record<string, number>} kernel name -> calls that ran on the cpu backend */
export function fallbackCounts() {
  return Object.fromEntries(instance?.fallbacks ?? []);
}

/** Resets the fallback counters (warnings are not repeated). */
export function resetFallbackCounts() {
  for (const k of instance?.fallbacks.keys() ?? []) instance?.fallbacks.set(k, 0);
}

/** Turns strict mode on or off for the registered backend. @param {boolean} on */
export function setStrict(on) {
  if (settings) settings.strict = on;
  if (instance) instance.strict = on;
}

/** @returns {string[]} the kernels with a native implementation */
export function nativeKernelNames() {
  return [...nativeNames].sort();
}

/**
 * Gives the memory of the pool's free blocks back to the system (see README, "Memory"): for a
 * process that is done with its peak, e.g. after training. Later tensors there are page-faulted
 * in again. Live tensors are not touched.
 * @returns {number} bytes released
 */
export function releaseLibtorchMemory() {
  return loadAddon().releaseFreeMemory();
}

/** Waits for the GPU's queued work (for timing); nothing on the CPU. */
export function synchronizeDevice() {
  loadAddon().synchronize();
}

/** @returns {ReturnType<typeof import('./index.d.ts').libtorchInfo>} */
export function libtorchInfo() {
  const addon = loadAddon();
  const v = addon.version();
  return {
    cxx11Abi: v.cxx11Abi,
    parallel: v.parallel,
    mkldnn: v.mkldnn,
    cuda: addon.cudaInfo(),
    builtAgainst: builtAgainst(),
    threads: addon.getThreads(),
    device: settings?.device ?? 'cpu',
    strict: settings?.strict ?? false,
    torch: addon.version().torch,
    liveTensors: addon.live(),
    pool: addon.allocatorStats(),
    heap: addon.heapStats(),
  };
}
