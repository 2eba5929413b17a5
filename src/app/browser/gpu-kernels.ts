/**
 * The stcsnn kernels for GPU backends (WebGL, WebGPU), written with TensorFlow.js ops: the
 * array kernels of `src/lib/core` reach only `cpu`/`wasm` memory. `gpu-kernels.test.ts` checks them
 * against the array kernels on a copy of the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ARRAY_BACKENDS } from '../../lib/core/kernels/array-kernel.js';
import { readAttrs, type KernelName } from '../../lib/core/kernels/table.js';

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
  name: KernelName,
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
 * `stebOps`), and the ops kernels of batch norm and SGD that `cpu`/`wasm` use (they are
 * backend-independent: ops run on the active backend). SGD's kernel exists once an `Sgd` was
 * made; without it `Sgd.step` uses the same ops.
 */
export function registerGpuKernels(backendName: string): void {
  const steb = (name: 'StcQuantize' | 'StcEncode' | 'StcSpikeCount', x: tf.Tensor, a: object) => {
    const { thresholds, strict } = readAttrs(name, a);
    return stebOps(x, thresholds, strict);
  };
  gpuKernel('StcQuantize', backendName, (i, a) => steb('StcQuantize', i.x, a).q);
  gpuKernel('StcEncode', backendName, (i, a) => tf.stack(steb('StcEncode', i.x, a).spikes));
  gpuKernel('StcSpikeCount', backendName, (i, a) => tf.addN(steb('StcSpikeCount', i.x, a).spikes));
  gpuKernel('StcQuantizeGrad', backendName, (i, a) => {
    const { upper } = readAttrs('StcQuantizeGrad', a);
    const mask = tf.logicalAnd(tf.greater(i.x, 0), tf.less(i.x, upper));
    return tf.where(mask, i.dy, tf.zerosLike(i.dy));
  });
  for (const name of ['StcBatchNormTrain', 'StcBatchNormTrainGrad', 'StcSgdStep'] as const) {
    const k = tf.getKernel(name, ARRAY_BACKENDS[0]);
    if (k && !tf.getKernel(name, backendName)) tf.registerKernel({ ...k, backendName });
  }
}
