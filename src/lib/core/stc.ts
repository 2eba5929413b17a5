/**
 * The STC math as pure functions over tensors: STEB (`encode`), CAB (`decode`), the fused
 * quantiser `stcQuantize` with the paper's equivalent gradient, and per-neuron spike counts.
 *
 * All take a validated {@link StcConfig}; shapes are arbitrary (`[...shape]`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gradientUpper, inputShift, thresholds, type StcConfig } from './config.js';
import { runKernel } from './kernels/array-kernel.js';
import type { KernelAttrs } from './kernels/table.js';

/** The attributes of the STC recurrence for `cfg` (`StcEncode`'s and `StcSpikeCount`'s). */
export function stcKernelAttrs(cfg: StcConfig): KernelAttrs<'StcEncode'> {
  return { thresholds: thresholds(cfg), strict: cfg.fire === '>' };
}

function asFloat(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32') throw new TypeError(`expected a float32 tensor, got ${x.dtype}`);
  return x;
}

/**
 * The membrane's start, `V(0) = x + inputShift(cfg)` (`shift: 'half'`), as the kernels read it:
 * `x` itself without a shift. Differentiable (the shift is a constant).
 */
export function shiftedInput<X extends tf.Tensor>(x: X, cfg: StcConfig): X {
  asFloat(x);
  const c = inputShift(cfg);
  return c === 0 ? x : (tf.add(x, tf.scalar(c)) as X);
}

/** `cfg` without its input shift: for an input {@link shiftedInput} has shifted already. */
export function unshifted(cfg: StcConfig): StcConfig {
  return cfg.shift === 'none' ? cfg : Object.freeze({ ...cfg, shift: 'none' as const });
}

/**
 * STEB: the integrate-and-fire encoder with a decaying threshold.
 *
 * ```
 * V(0) = x (+ theta(T-1)/2 with shift 'half');  s(t) = 1[V(t) >= theta(t)];
 * V(t+1) = V(t) - s(t) theta(t),   t = 0 .. T-1
 * ```
 *
 * Non-positive inputs never fire (STEB also plays ReLU's part).
 *
 * @param x membrane potentials, any shape `[...S]`, float32
 * @returns the binary spike train `s`, shape `[T, ...S]`, values 0 or 1
 */
export function encode(x: tf.Tensor, cfg: StcConfig): tf.Tensor {
  return tf.tidy(() => runKernel('StcEncode', { x: shiftedInput(asFloat(x), cfg) }, stcKernelAttrs(cfg)));
}

/**
 * CAB: the current accumulator, `y = sum_t theta(t) * s(t)`.
 *
 * @param spikes spike train (or synaptic currents `I(t)`), shape `[T, ...S]`
 * @returns shape `[...S]`
 */
export function decode(spikes: tf.Tensor, cfg: StcConfig): tf.Tensor {
  if (spikes.shape[0] !== cfg.T) {
    throw new RangeError(`decode: the leading axis must be T = ${cfg.T}, got shape [${spikes.shape}]`);
  }
  return tf.tidy(() => {
    const th = tf.reshape(tf.tensor1d(thresholds(cfg)), [cfg.T, ...spikes.shape.slice(1).map(() => 1)]);
    return tf.sum(tf.mul(spikes, th), 0);
  });
}

/**
 * The fused quantiser `q(x) = sum_t theta(t) s(t) = x - V(T)`: STEB followed by CAB, one
 * pass per element. Its gradient is the paper's equivalent gradient, that of ReLU:
 * `dL/dx = dL/dq * 1[x > 0]`.
 *
 * For `0 <= x < sum_t theta(t)` the error `|q(x) - x|` is below `theta(T-1)` whenever the
 * schedule satisfies `theta(t) <= theta(T-1) + sum_{k>t} theta(k)` (see `hasErrorBound`);
 * larger inputs saturate at `sum_t theta(t)`; negative inputs give 0.
 *
 * @param x any shape, float32
 * @returns `q(x)`, same shape
 */
export function stcQuantize(x: tf.Tensor, cfg: StcConfig): tf.Tensor {
  return tf.tidy(() =>
    runKernel(
      'StcQuantize',
      { x: shiftedInput(asFloat(x), cfg) },
      { ...stcKernelAttrs(cfg), upper: gradientUpper(cfg) },
    ),
  );
}

/**
 * Spikes each neuron fires over the whole train, `sum_t s(t)`, without materialising the train.
 *
 * @returns counts in `0..T`, same shape as `x`
 */
export function spikeCounts(x: tf.Tensor, cfg: StcConfig): tf.Tensor {
  return tf.tidy(() => runKernel('StcSpikeCount', { x: shiftedInput(asFloat(x), cfg) }, stcKernelAttrs(cfg)));
}

/** The spike train of one number and what CAB decodes from it, in float64 (a reference). */
export interface ScalarTrain {
  readonly input: number;
  readonly spikes: number[];
  readonly decoded: number;
  /** The residual membrane `V(T)`; `decoded = input + inputShift - residual` for positive inputs. */
  readonly residual: number;
}

/** STEB + CAB on one number, in float64: the exact recurrence, for tables and references. */
export function encodeScalar(x: number, cfg: StcConfig): ScalarTrain {
  const th = thresholds(cfg);
  const spikes: number[] = [];
  let v = x + inputShift(cfg);
  let decoded = 0;
  for (const theta of th) {
    const s = cfg.fire === '>' ? v > theta : v >= theta;
    spikes.push(s ? 1 : 0);
    if (s) {
      v -= theta;
      decoded += theta;
    }
  }
  return { input: x, spikes, decoded, residual: v };
}
