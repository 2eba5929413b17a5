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
 * - `StcQuantizeScaled` (learned thresholds): `q = theta0 q_1(x / theta0)`, `theta0` of shape
 *   `[]` or `[C]` (the last axis of `x`), `thresholds` those of `theta0 = 1`; in float32 at each
 *   step (`u = x / theta0`, `q_1(u)`, `theta0 q_1`), as `tf.mul(stcQuantize(tf.div(x, theta0)), theta0)`.
 * - `StcQuantizeScaledGrad`: its gradient in one pass over `dy` and `x`: with `m = 1[0 < u < upper]`,
 *   `dx = dy m`, `dtheta0 = sum dy (q_1(u) - u m)` over every axis but `theta0`'s (each term in
 *   float32, the sum in float64), and `q` (the forward value, for the next layer's weight gradient).
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

/** `q_1(u)` of one element as float32, `u = fround(x / theta0)` given. */
function quantizeUnit(u: number, th: Float64Array, strict: boolean): number {
  return u > 0 ? Math.fround(simulate(u, th, strict)) : 0;
}

/**
 * `StcQuantizeScaled` over arrays: `q = theta0 q_1(x / theta0)` in float32 at each step;
 * `theta` has one value (per layer) or `C` (per channel, the last axis, `x.length / C` rows).
 */
export function quantizeScaledArray(
  x: Float32Array,
  theta: Float32Array,
  out: Float32Array,
  a: StcKernelAttrs,
): void {
  const th = Float64Array.from(a.thresholds);
  const C = theta.length;
  for (let i = 0; i < x.length; i++) {
    const t0 = theta[C === 1 ? 0 : i % C];
    out[i] = Math.fround(t0 * quantizeUnit(Math.fround(x[i] / t0), th, a.strict));
  }
}

/** `StcQuantizeScaledGrad` over arrays into `dx`, `dtheta` (`theta`'s length) and `q`. */
export function quantizeScaledGradArray(
  dy: Float32Array,
  x: Float32Array,
  theta: Float32Array,
  dx: Float32Array,
  dtheta: Float32Array,
  q: Float32Array,
  a: StcKernelAttrs & { upper: number },
): void {
  const th = Float64Array.from(a.thresholds);
  const C = theta.length;
  const acc = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = C === 1 ? 0 : i % C;
    const t0 = theta[c];
    const u = Math.fround(x[i] / t0);
    const q1 = quantizeUnit(u, th, a.strict);
    const inside = u > 0 && u < a.upper;
    dx[i] = inside ? dy[i] : 0;
    acc[c] += Math.fround(dy[i] * Math.fround(q1 - (inside ? u : 0)));
    q[i] = Math.fround(t0 * q1);
  }
  for (let c = 0; c < C; c++) dtheta[c] = acc[c];
}

/** The axes `theta0` is broadcast over: all of `x`'s for one threshold, all but the last for `[C]`. */
function thetaAxes(x: tf.Tensor, theta0: tf.Tensor): number[] {
  return Array.from({ length: theta0.rank === 0 ? x.rank : x.rank - 1 }, (_, i) => i);
}

/**
 * `StcQuantizeScaled` with ops: `q_1` by `quantize` (a backend's `StcQuantize` of `theta0 = 1`),
 * `q = theta0 q_1(x / theta0)`. The reference of the fused kernels (`stcb.test.ts`).
 */
export function quantizeScaledOps(
  x: tf.Tensor,
  theta0: tf.Tensor,
  quantize: (u: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => tf.mul(quantize(tf.div(x, theta0)), theta0));
}

/** `StcQuantizeScaledGrad` with ops (see {@link quantizeScaledOps}): `[dx, dtheta0, q]`. */
export function quantizeScaledGradOps(
  dy: tf.Tensor,
  x: tf.Tensor,
  theta0: tf.Tensor,
  upper: number,
  quantize: (u: tf.Tensor) => tf.Tensor,
): tf.Tensor[] {
  return tf.tidy(() => {
    const u = tf.div(x, theta0);
    const q1 = quantize(u);
    const m = tf.logicalAnd(tf.greater(u, 0), tf.less(u, upper));
    const dx = tf.where(m, dy, tf.zerosLike(dy));
    const um = tf.where(m, u, tf.zerosLike(u));
    const dtheta = tf.reshape(tf.sum(tf.mul(dy, tf.sub(q1, um)), thetaAxes(x, theta0)), theta0.shape);
    return [dx, dtheta, tf.mul(q1, theta0)];
  });
}

/** The `[C]` or `[]` `theta0` of a `StcQuantizeScaled*` call, checked against `x`. */
function checkTheta(name: string, x: readonly number[], theta0: readonly number[]): void {
  const ok = theta0.length === 0 || (theta0.length === 1 && theta0[0] === x[x.length - 1]);
  if (!ok)
    throw new RangeError(
      `kernel ${name}: theta0 must be [] or [C] with C = the last axis of x [${x.join(', ')}], got [${theta0.join(', ')}]`,
    );
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
      opsKernel('StcQuantizeScaled', backendName, (i, a) => {
        checkTheta('StcQuantizeScaled', i.x.shape, i.theta0.shape);
        return quantizeScaledOps(i.x, i.theta0, (u) => stebOps(u, a).q);
      }),
      opsKernel('StcQuantizeScaledGrad', backendName, (i, a) => {
        checkTheta('StcQuantizeScaledGrad', i.x.shape, i.theta0.shape);
        return quantizeScaledGradOps(i.dy, i.x, i.theta0, a.upper, (u) => stebOps(u, a).q);
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
        name: 'StcQuantizeScaled',
        outputShapes: (s) => {
          checkTheta('StcQuantizeScaled', s[0], s[1]);
          return [[...s[0]]];
        },
        compute: ([x, theta], [q], _s, attrs) => quantizeScaledArray(x, theta, q, attrs),
      },
      backendName,
    ),
    arrayKernel(
      {
        name: 'StcQuantizeScaledGrad',
        outputShapes: (s) => {
          checkTheta('StcQuantizeScaledGrad', s[1], s[2]);
          return [[...s[1]], [...s[2]], [...s[1]]];
        },
        compute: ([dy, x, theta], [dx, dtheta, q], _s, attrs) =>
          quantizeScaledGradArray(dy, x, theta, dx, dtheta, q, attrs),
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

/**
 * The gradient of `StcQuantizeScaled`: `StcQuantizeScaledGrad` (its `q` output unused here; a
 * layer that needs `q` for its weight gradient calls the kernel itself, see `stcb.ts`).
 */
export const stcQuantizeScaledGradient: tf.GradConfig = {
  kernelName: 'StcQuantizeScaled',
  inputsToSave: [...KERNELS.StcQuantizeScaled.inputs],
  gradFunc: (dy, [x, theta0], attrs) => {
    const a = readAttrs('StcQuantizeScaled', attrs);
    // eager: the engine runs each input's thunk in its own tidy
    const [dx, dtheta0, q] = runKernel('StcQuantizeScaledGrad', { dy: dy as tf.Tensor, x, theta0 }, a);
    q.dispose();
    return { x: () => dx, theta0: () => dtheta0 };
  },
};
