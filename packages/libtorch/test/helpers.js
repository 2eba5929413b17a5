/**
 * Test helpers: TensorFlow.js with gradients in Node, the libtorch backend when it is built,
 * and a comparison of one computation on the cpu and libtorch backends.
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { libtorchAvailability, registerLibtorchBackend } from '../lib/index.js';

/**
 * The device the libtorch backend runs the tests on: `STCSNN_TEST_DEVICE=cuda` runs every
 * kernel test (which compares against TensorFlow.js's cpu backend or a reference written in
 * the test, gradients included) with the backend's tensors on the GPU.
 */
export const testDevice = process.env.STCSNN_TEST_DEVICE ?? 'cpu';

/** Why the libtorch tests skip, or undefined when the addon loads (and has CUDA when asked). */
export const skipReason = (() => {
  const a = libtorchAvailability();
  if (!a.ok) return `stcsnn-libtorch addon not available: ${a.reason}`;
  if (testDevice.startsWith('cuda') && !a.cuda) return `STCSNN_TEST_DEVICE=${testDevice}: no CUDA here`;
  return undefined;
})();

/** Why a test of the CPU path only (host allocator, oneDNN prepacking, resident memory) skips. */
export const cpuOnlyReason =
  skipReason ?? (testDevice === 'cpu' ? undefined : `tests the CPU path; STCSNN_TEST_DEVICE=${testDevice}`);

let ready;
/** Registers TensorFlow.js's gradients and the libtorch backend (strict). */
export function setup() {
  ready ??= (async () => {
    if (!tf.getGradient('Conv2D')) {
      register(new URL('./esm-hooks.js', import.meta.url));
      await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    }
    await registerLibtorchBackend({ threads: 2, strict: true, device: testDevice });
  })();
  return ready;
}

/** A deterministic pseudo-random float32 array in [lo, hi). */
export function rand(n, seed = 1, lo = -1, hi = 1) {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = lo + ((s % 1000003) / 1000003) * (hi - lo);
  }
  return a;
}

/**
 * Runs `fn` on fresh copies of `inputs` on the cpu and libtorch backends; returns the outputs'
 * values (flattened) and shapes per backend.
 * @param {(...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]} fn
 * @param {{ values: ArrayLike<number>, shape: number[], dtype?: tf.DataType }[]} inputs
 */
export async function onBoth(fn, inputs) {
  const res = {};
  for (const b of ['cpu', 'libtorch']) {
    await tf.setBackend(b);
    const ts = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype ?? 'float32'));
    const out = fn(...ts);
    const list = Array.isArray(out) ? out : [out];
    res[b] = list.map((t) => ({ values: Array.from(t.dataSync()), shape: t.shape, dtype: t.dtype }));
    tf.dispose([...ts, ...list]);
  }
  return res;
}

/** Largest |a - b| / (1 + |a|) over two arrays (NaN equal to NaN). */
export function maxRelDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (a[i] === b[i]) continue;
    const d = Math.abs(a[i] - b[i]) / (1 + Math.abs(a[i]));
    if (!(d <= m)) m = d;
  }
  return m;
}

export { tf };
