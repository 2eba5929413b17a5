/**
 * The named kernels of the STC core and their gradients.
 *
 * | kernel            | inputs    | attrs                     | output                              |
 * |-------------------|-----------|---------------------------|-------------------------------------|
 * | `StcQuantize`     | x         | thresholds, strict, upper | q(x) = sum_t theta(t) s(t), shape x |
 * | `StcQuantizeGrad` | dy, x     | upper (default +inf)      | dy * 1[0 < x < upper]               |
 * | `StcEncode`       | x         | thresholds, strict        | s, shape [T, ...x.shape], 0/1       |
 * | `StcSpikeCount`   | x         | thresholds, strict        | sum_t s(t), shape x                 |
 *
 * `thresholds` is `theta(0..T-1)` (a `number[]`), `strict` selects the firing test `V > theta`
 * instead of `V >= theta`. The recurrence (DESIGN.md §1), per element:
 *
 * ```
 * V(0) = x
 * s(t) = 1[V(t) >= theta(t)]          (or > when strict)
 * V(t+1) = V(t) - s(t) theta(t)
 * ```
 *
 * `StcQuantize` has the equivalent gradient of the paper: that of ReLU, `dy * 1[x > 0]`,
 * computed by `StcQuantizeGrad` so that a backend can fuse it too. `StcQuantize`'s attribute
 * `upper` (default +inf) is passed on to its gradient: with config `gradient: 'clipped'` it is
 * `S = sum theta`, and the mask `1[0 < x < S]` is also zero where q saturates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerArrayKernel, type KernelAttrs } from './array-kernel.js';

export const STC_QUANTIZE = 'StcQuantize';
export const STC_QUANTIZE_GRAD = 'StcQuantizeGrad';
export const STC_ENCODE = 'StcEncode';
export const STC_SPIKE_COUNT = 'StcSpikeCount';

/** Attributes shared by the STC kernels. */
export interface StcKernelAttrs {
  /** `theta(0..T-1)`. */
  thresholds: number[];
  /** Fire on `V > theta` instead of `V >= theta`. */
  strict: boolean;
  /** `StcQuantize` only: its gradient is zero where `x >= upper` (see `gradientUpper`). */
  upper?: number;
}

/** The `upper` attribute of `StcQuantize`/`StcQuantizeGrad`, `+inf` where absent. */
function upperOf(attrs: KernelAttrs): number {
  return typeof attrs.upper === 'number' ? attrs.upper : Infinity;
}

function stcAttrs(attrs: KernelAttrs): StcKernelAttrs {
  return { thresholds: attrs.thresholds as number[], strict: attrs.strict === true };
}

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

let registered = false;

/** Registers the STC kernels for the JavaScript-memory backends and the gradient of `StcQuantize`. */
export function registerStcKernels(): void {
  if (registered) return;
  registered = true;
  registerArrayKernel({
    name: STC_QUANTIZE,
    inputs: ['x'],
    outputShapes: (s) => [[...s[0]]],
    compute: (ins, outs, _s, attrs) => quantizeArray(ins[0], outs[0], stcAttrs(attrs)),
  });
  registerArrayKernel({
    name: STC_QUANTIZE_GRAD,
    inputs: ['dy', 'x'],
    outputShapes: (s) => [[...s[0]]],
    compute: ([dy, x], [out], _s, attrs) => {
      const upper = upperOf(attrs);
      for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 && x[i] < upper ? dy[i] : 0;
    },
  });
  registerArrayKernel({
    name: STC_ENCODE,
    inputs: ['x'],
    outputShapes: (s, attrs) => [[(attrs.thresholds as number[]).length, ...s[0]]],
    compute: (ins, outs, _s, attrs) => encodeArray(ins[0], outs[0], stcAttrs(attrs)),
  });
  registerArrayKernel({
    name: STC_SPIKE_COUNT,
    inputs: ['x'],
    outputShapes: (s) => [[...s[0]]],
    compute: (ins, outs, _s, attrs) => spikeCountArray(ins[0], outs[0], stcAttrs(attrs)),
  });
  tf.registerGradient({
    kernelName: STC_QUANTIZE,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const upper = upperOf(attrs as KernelAttrs);
      return {
        x: () => tf.engine().runKernel(STC_QUANTIZE_GRAD, { dy: dy as tf.Tensor, x }, { upper }) as tf.Tensor,
      };
    },
  });
}
