/**
 * The STC kernels (`StcQuantize`, `StcQuantizeGrad`, `StcEncode`, `StcSpikeCount`; names,
 * inputs and attributes in `table.ts`) over plain arrays (`cpu`, `wasm`) or with ops (other
 * backends), and the gradient of `StcQuantize`; the engine's `registerAll` registers them.
 *
 * `thresholds` is `theta(0..T-1)` (a `number[]`), `strict` selects the firing test `V > theta`
 * instead of `V >= theta`. The recurrence (docs/semantics.md §1), per element of `x`:
 *
 * ```
 * V(0) = x
 * s(t) = 1[V(t) >= theta(t)]          (or > when strict)
 * V(t+1) = V(t) - s(t) theta(t)
 * ```
 *
 * - `StcQuantize`: `q(x) = sum_t theta(t) s(t)`, shape of `x`.
 * - `StcEncode`: the spike train `s`, shape `[T, ...x.shape]`, values 0/1.
 * - `StcSpikeCount`: `sum_t s(t)`, shape of `x`.
 * - `StcQuantizeGrad`: `dy * 1[0 < x < upper]`, shape of `x`.
 *
 * `StcQuantize` has the equivalent gradient of the paper: that of ReLU, `dy * 1[x > 0]`,
 * computed by `StcQuantizeGrad` so that a backend can fuse it too. `StcQuantize`'s attribute
 * `upper` (default +inf) is passed on to its gradient: with config `gradient: 'clipped'` it is
 * `S = sum theta`, and the mask `1[0 < x < S]` is also zero where q saturates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { arrayKernel, isArrayBackend, opsKernel, runKernel } from './array-kernel.js';
import { KERNELS, readAttrs, type KernelAttrs } from './table.js';

/** The attributes of the STC recurrence (`StcEncode`'s, a part of `StcQuantize`'s). */
export type StcKernelAttrs = KernelAttrs<'StcEncode'>;

/**
 * The IF recurrence of one element: calls `onSpike(t)` for every step that fires and returns
 * `q = sum of the fired thresholds`. Thresholds are positive, so `x <= 0` never fires; and
 * once `V` is below the smallest threshold nothing fires again (the schedules decrease).
 */
function simulate(x: number, th: Float64Array, strict: boolean, onSpike?: (t: number) => void): number {
  const T = th.length;
  const last = th[T - 1];
  let v = x;
  let q = 0;
  if (strict) {
    for (let t = 0; t < T && v > last; t++) {
      if (v > th[t]) {
        v -= th[t];
        q += th[t];
        onSpike?.(t);
      }
    }
  } else {
    for (let t = 0; t < T && v >= last; t++) {
      if (v >= th[t]) {
        v -= th[t];
        q += th[t];
        onSpike?.(t);
      }
    }
  }
  return q;
}

/** `q(x)` for each element of `x` into `out`. */
export function quantizeArray(x: Float32Array, out: Float32Array, a: StcKernelAttrs): void {
  const th = Float64Array.from(a.thresholds);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v > 0 ? simulate(v, th, a.strict) : 0;
  }
}

/** Spike train of `x` into `out` (`[T, x.length]`, row-major; `out` starts at zero). */
export function encodeArray(x: Float32Array, out: Float32Array, a: StcKernelAttrs): void {
  const th = Float64Array.from(a.thresholds);
  const n = x.length;
  for (let i = 0; i < n; i++) {
    if (x[i] > 0) simulate(x[i], th, a.strict, (t) => (out[t * n + i] = 1));
  }
}

/** Number of spikes each element of `x` fires, into `out`. */
export function spikeCountArray(x: Float32Array, out: Float32Array, a: StcKernelAttrs): void {
  const th = Float64Array.from(a.thresholds);
  for (let i = 0; i < x.length; i++) {
    let c = 0;
    if (x[i] > 0) simulate(x[i], th, a.strict, () => c++);
    out[i] = c;
  }
}

/**
 * STEB on one tensor with ops, for backends whose memory the array kernels cannot reach (WebGL,
 * WebGPU): the recurrence above in float32. Returns the spike train `[T, ...shape]` and `q`.
 */
function stebOps(x: tf.Tensor, a: StcKernelAttrs): { spikes: tf.Tensor[]; q: tf.Tensor } {
  let v = x;
  let q = tf.zerosLike(x);
  const spikes: tf.Tensor[] = [];
  for (const theta of a.thresholds) {
    const s = tf.cast(a.strict ? tf.greater(v, theta) : tf.greaterEqual(v, theta), 'float32');
    const fired = tf.mul(s, theta);
    v = tf.sub(v, fired);
    q = tf.add(q, fired);
    spikes.push(s);
  }
  return { spikes, q };
}

/**
 * The STC kernels for `backendName`: over plain arrays for `cpu` and `wasm`, with ops (float32;
 * `stebOps`) for any other backend. `stc-kernels.test.ts` checks that both agree.
 */
export function stcKernels(backendName: string): tf.KernelConfig[] {
  if (!isArrayBackend(backendName)) {
    return [
      opsKernel('StcQuantize', backendName, (i, a) => stebOps(i.x, a).q),
      opsKernel('StcQuantizeGrad', backendName, (i, { upper }) => {
        const mask = tf.logicalAnd(tf.greater(i.x, 0), tf.less(i.x, upper));
        return tf.where(mask, i.dy, tf.zerosLike(i.dy));
      }),
      opsKernel('StcEncode', backendName, (i, a) => tf.stack(stebOps(i.x, a).spikes)),
      opsKernel('StcSpikeCount', backendName, (i, a) => tf.addN(stebOps(i.x, a).spikes)),
    ];
  }
  return [
    arrayKernel(
      {
        name: 'StcQuantize',
        outputShapes: (s) => [[...s[0]]],
        compute: (ins, outs, _s, attrs) => quantizeArray(ins[0], outs[0], attrs),
      },
      backendName,
    ),
    arrayKernel(
      {
        name: 'StcQuantizeGrad',
        outputShapes: (s) => [[...s[0]]],
        compute: ([dy, x], [out], _s, { upper }) => {
          for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 && x[i] < upper ? dy[i] : 0;
        },
      },
      backendName,
    ),
    arrayKernel(
      {
        name: 'StcEncode',
        outputShapes: (s, attrs) => [[attrs.thresholds.length, ...s[0]]],
        compute: (ins, outs, _s, attrs) => encodeArray(ins[0], outs[0], attrs),
      },
      backendName,
    ),
    arrayKernel(
      {
        name: 'StcSpikeCount',
        outputShapes: (s) => [[...s[0]]],
        compute: (ins, outs, _s, attrs) => spikeCountArray(ins[0], outs[0], attrs),
      },
      backendName,
    ),
  ];
}

/** The gradient of `StcQuantize`: `StcQuantizeGrad` with its `upper`. */
export const stcQuantizeGradient: tf.GradConfig = {
  kernelName: 'StcQuantize',
  inputsToSave: [...KERNELS.StcQuantize.inputs],
  gradFunc: (dy, [x], attrs) => {
    const { upper } = readAttrs('StcQuantize', attrs);
    return { x: () => runKernel('StcQuantizeGrad', { dy: dy as tf.Tensor, x }, { upper }) };
  },
};
