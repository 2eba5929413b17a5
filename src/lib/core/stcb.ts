/**
 * The spatio-temporal conversion block (STCB) as functions: `STEB -> Conv (no bias) -> CAB`
 * replacing `ReLU -> Conv`, for 2-D convolutions and linear layers.
 *
 * Two execution paths give the same forward value (to float rounding) and the same gradient:
 *
 * - `fused` (default): `y = W * q(x)`, one convolution on the quantised input, since by
 *   linearity `sum_t theta(t) (W * s(t)) = W * sum_t theta(t) s(t)`.
 * - `spike-train`: `s = STEB(x)` (`[T, ...]`, binary), `I(t) = W * s(t)` (T convolutions on
 *   binary frames, additions only on spiking hardware), `y = sum_t theta(t) I(t)` (CAB).
 *
 * Gradient (the paper's equivalent gradient, that of `ReLU -> Conv`):
 * `dL/dW` = the weight gradient of the convolution with input `q(x)`;
 * `dL/dx` = (the convolution's input gradient of `dL/dy`) * `1[x > 0]`
 * (`* 1[0 < x < sum theta]` with `gradient: 'clipped'`). Both paths keep only `x` and `w` for
 * the backward pass and recompute `q(x)` there. With a convolution, the fused forward pass and
 * the backward pass are one named kernel each (`StcConv2D`, `StcConv2DBackward`,
 * `kernels/stc-conv.ts`), so that a native backend makes each one call.
 *
 * Learned thresholds ({@link stcConv2dLearned}, {@link stcLinearLearned}) compose the same op
 * with a per-layer or per-channel threshold `theta0`, by the STEB's scale equivariance.
 *
 * The ANN twin's `ReLU -> Conv` / `ReLU -> Linear` ({@link reluConv2d}, {@link reluLinear}) is
 * the same op with `q` replaced by ReLU: TensorFlow.js's values and gradients, and the same
 * memory as an STCB (TensorFlow.js's ReLU keeps its input and the convolution its output).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gradientUpper, thresholds, type StcConfig } from './config.js';
import { runKernel } from './kernels/array-kernel.js';
import { conv2dFilterGrad, conv2dInputGrad, convPad, explicitPad } from './kernels/stc-conv.js';
import { encode, shiftedInput, stcKernelAttrs, stcQuantize, unshifted } from './stc.js';

/** How an STCB computes its forward pass: one fused quantiser, or the explicit spike train. */
export const STC_PATHS = ['fused', 'spike-train'] as const;
/** How an STCB computes its forward pass. */
export type StcPath = (typeof STC_PATHS)[number];

/** Geometry of a 2-D convolution with PyTorch's symmetric zero padding. */
export interface Conv2dGeometry {
  /** Stride (same for both axes). */
  readonly stride: number;
  /** Zero padding on each side (same for both axes). */
  readonly pad: number;
}

export { explicitPad };

/** A 2-D convolution without bias, NHWC, PyTorch padding. `x: [N,H,W,Cin]`, `w: [kh,kw,Cin,Cout]`. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: Conv2dGeometry): tf.Tensor4D {
  return tf.conv2d(x, w, g.stride, convPad(g.pad));
}

/** `dy * 1[0 < x < upper]`: the equivalent gradient's mask (`upper = Infinity`: ReLU's). */
function maskGrad(dy: tf.Tensor, x: tf.Tensor, upper: number): tf.Tensor {
  return runKernel('StcQuantizeGrad', { dy, x }, { upper });
}

/** CAB over a stacked `[T*N, ...]` tensor: reshape to `[T, N, ...]`, `sum_t theta(t) I(t)`. */
function accumulate(currents: tf.Tensor, cfg: StcConfig): tf.Tensor {
  const [tn, ...rest] = currents.shape;
  const n = tn / cfg.T;
  const th = tf.reshape(tf.tensor1d(thresholds(cfg)), [cfg.T, 1, ...rest.map(() => 1)]);
  return tf.sum(tf.mul(tf.reshape(currents, [cfg.T, n, ...rest]), th), 0);
}

/** The gradients `[dL/dx, dL/dw]` of an activation followed by a linear map, from `dL/dy`, `x` and `w`. */
type ActGrad<X extends tf.Tensor, Y extends tf.Tensor> = (
  dy: Y,
  x: X,
  w: tf.Tensor,
) => [tf.Tensor, tf.Tensor];

/**
 * An activation followed by a linear map, as one differentiable op: `forward(x, w)` computes
 * `y` (from `act(x)`, by either path); the backward pass `grad` is the equivalent gradient,
 * `dL/dx` = (the linear map's input gradient) `* 1[0 < x < upper]`, and recomputes `act(x)` (one
 * elementwise pass) for the weight gradient instead of keeping it, so training holds `x` and `w`
 * only. With `act = q` this is an STCB; with `act = ReLU, upper = Infinity` it is the ANN twin's
 * `ReLU -> Conv`, with the same gradient as TensorFlow.js's ReLU and half its saved memory.
 */
function actOp<X extends tf.Tensor, Y extends tf.Tensor>(
  forward: (x: X, w: tf.Tensor) => Y,
  grad: ActGrad<X, Y>,
): (x: X, w: tf.Tensor) => Y {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [X, tf.Tensor, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: forward(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy as Y, saved[0] as X, saved[1]),
    };
  });
  return (x, w) => f(x, w) as Y;
}

/** {@link ActGrad} of `act` followed by a linear map with gradients `backward`, op by op. */
function actGrad<X extends tf.Tensor, Y extends tf.Tensor>(
  backward: (dy: Y, a: X, w: tf.Tensor) => [da: tf.Tensor, dw: tf.Tensor],
  act: (x: X) => X,
  upper: number,
): ActGrad<X, Y> {
  return (dy, x, w) => {
    const [da, dw] = backward(dy, act(x), w);
    return [maskGrad(da, x, upper), dw];
  };
}

/**
 * {@link ActGrad} of `q` (or, with `relu`, ReLU) followed by a convolution: the named kernel
 * `StcConv2DBackward`, one call on a native backend.
 */
function conv2dActGrad(
  g: Conv2dGeometry,
  act: { thresholds: number[]; strict: boolean; upper: number; relu: boolean },
): ActGrad<tf.Tensor4D, tf.Tensor4D> {
  return (dy, x, w) => runKernel('StcConv2DBackward', { dy, x, w }, { ...act, stride: g.stride, pad: g.pad });
}

/** The two gradients of a linear map `y = f(a, w)`: its input's and its weight's. */
interface LinearMapGrads<A extends tf.Tensor, Y extends tf.Tensor> {
  /** `dL/da` (of shape `shape`) from `dL/dy` and `w`. */
  input(dy: Y, ws: tf.Tensor, shape: A['shape']): tf.Tensor;
  /** `dL/dw` from `dL/dy` and the input `a`. */
  weight(dy: Y, a: A, ws: tf.Tensor): tf.Tensor;
}

/** The input and filter gradients of a convolution with geometry `g` (NHWC, HWIO). */
function conv2dGrads(g: Conv2dGeometry): LinearMapGrads<tf.Tensor4D, tf.Tensor4D> {
  return {
    input: (dy, ws, shape) => conv2dInputGrad(dy, ws, shape, g.stride, g.pad),
    weight: (dy, a, ws) => conv2dFilterGrad(dy, a, ws.shape, g.stride, g.pad),
  };
}

/** The input and weight gradients of `y = a w`. */
const linearGrads: LinearMapGrads<tf.Tensor2D, tf.Tensor2D> = {
  input: (dy, ws) => tf.matMul(dy, ws as tf.Tensor2D, false, true),
  weight: (dy, a) => tf.matMul(a, dy, true, false),
};

/** Both gradients of a linear map at once (input first), for {@link actOp}. */
function backwardOf<A extends tf.Tensor, Y extends tf.Tensor>(grads: LinearMapGrads<A, Y>) {
  return (dy: Y, a: A, ws: tf.Tensor): [tf.Tensor, tf.Tensor] => [
    grads.input(dy, ws, a.shape),
    grads.weight(dy, a, ws),
  ];
}

/** The input and weight gradients of `y = a w`. */
const linearBackward = backwardOf(linearGrads);

/**
 * An STCB with learned thresholds on the fused path, as one differentiable op of `x`, `w` and
 * `theta0`: `y = map(q, w)`, `q = theta0 q_1(x / theta0)` (`StcQuantizeScaled`). The backward
 * pass takes the map's input gradient `g = dL/dq`, then one pass of `StcQuantizeScaledGrad`
 * over `g` and `x` gives `dL/dx = g m(u)`, `dL/dtheta0 = sum g (q_1(u) - u m(u))` and `q` again
 * (for the weight gradient), so it keeps `x`, `w` and `theta0` only and costs what a fixed
 * STCB's backward pass costs (there: recompute `q`, mask `g`), plus the threshold's reduction.
 */
function learnedOp<X extends tf.Tensor, Y extends tf.Tensor>(
  map: (q: X, w: tf.Tensor) => Y,
  grads: LinearMapGrads<X, Y>,
  unit: StcConfig,
): (x: X, w: tf.Tensor, theta0: tf.Tensor) => Y {
  const attrs = { thresholds: thresholds(unit), strict: unit.fire === '>', upper: gradientUpper(unit) };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, theta0, save] = args as [X, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([x, w, theta0]);
    return {
      value: map(runKernel('StcQuantizeScaled', { x, theta0 }, attrs) as X, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, st] = saved as [X, tf.Tensor, tf.Tensor];
        const g = grads.input(dy as Y, sw, sx.shape);
        const [dx, dtheta0, q] = runKernel('StcQuantizeScaledGrad', { dy: g, x: sx, theta0: st }, attrs);
        g.dispose();
        const dw = grads.weight(dy as Y, q as X, sw);
        q.dispose();
        return [dx, dw, dtheta0];
      },
    };
  });
  return (x, w, theta0) => f(x, w, theta0) as Y;
}

/**
 * STCB with a 2-D convolution.
 *
 * @param x membrane potentials `[N, H, W, Cin]`
 * @param w filter `[kh, kw, Cin, Cout]` (no bias)
 * @returns `[N, Ho, Wo, Cout]`, `Ho = floor((H + 2 pad - kh) / stride) + 1`
 */
export function stcConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  cfg: StcConfig,
  g: Conv2dGeometry,
  path: StcPath = 'fused',
): tf.Tensor4D {
  // a shifted membrane start (shift 'half') is the input shifted once, here: the recompute and
  // the gradient's mask below then see what the encoder sees
  if (cfg.shift !== 'none') return stcConv2d(shiftedInput(x, cfg), w, unshifted(cfg), g, path);
  const forward = (xs: tf.Tensor4D, ws: tf.Tensor): tf.Tensor4D => {
    if (path === 'fused') {
      const attrs = { ...stcKernelAttrs(cfg), stride: g.stride, pad: g.pad };
      return runKernel('StcConv2D', { x: xs, w: ws }, attrs) as tf.Tensor4D;
    }
    const [n, h, wd, c] = xs.shape;
    const frames = tf.reshape(encode(xs, cfg), [cfg.T * n, h, wd, c]) as tf.Tensor4D;
    return accumulate(conv2d(frames, ws as tf.Tensor4D, g), cfg) as tf.Tensor4D;
  };
  const act = { ...stcKernelAttrs(cfg), upper: gradientUpper(cfg), relu: false };
  return actOp(forward, conv2dActGrad(g, act))(x, w);
}

/**
 * STCB with a linear layer.
 *
 * @param x `[N, in]`
 * @param w `[in, out]` (no bias)
 * @returns `[N, out]`
 */
export function stcLinear(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  cfg: StcConfig,
  path: StcPath = 'fused',
): tf.Tensor2D {
  if (cfg.shift !== 'none') return stcLinear(shiftedInput(x, cfg), w, unshifted(cfg), path);
  const forward = (xs: tf.Tensor2D, ws: tf.Tensor): tf.Tensor2D => {
    if (path === 'fused') return tf.matMul(stcQuantize(xs, cfg) as tf.Tensor2D, ws as tf.Tensor2D);
    const [n, d] = xs.shape;
    const frames = tf.reshape(encode(xs, cfg), [cfg.T * n, d]) as tf.Tensor2D;
    return accumulate(tf.matMul(frames, ws as tf.Tensor2D), cfg) as tf.Tensor2D;
  };
  const q = (v: tf.Tensor2D) => stcQuantize(v, cfg) as tf.Tensor2D;
  return actOp(forward, actGrad(linearBackward, q, gradientUpper(cfg)))(x, w);
}

/**
 * `theta0` of an STCB with learned thresholds as the factor that multiplies the weights:
 * a scalar for one threshold per layer, `[Cin]` per input channel, broadcast to `w`'s input axis
 * (`[1, 1, Cin, 1]` for a convolution, `[Cin, 1]` for a linear layer).
 */
function inputAxisScale(theta0: tf.Tensor, wRank: number): tf.Tensor {
  checkTheta0(theta0);
  if (theta0.rank === 0) return theta0;
  return wRank === 4 ? tf.reshape(theta0, [1, 1, -1, 1]) : tf.reshape(theta0, [-1, 1]);
}

/**
 * `q = theta0 q_1(x / theta0)` of a shifted STCB with learned thresholds, composed of TensorFlow.js
 * ops and the unit quantiser (whose shift applies to `u = x / theta0`): the membrane starts at
 * `u + inputShift(unit)` in float32, exactly as the spike-train path, the ONNX graph and the
 * PyTorch module compute it (the fused kernels divide inside and would round `u` otherwise). Its
 * gradients are autograd's: `dL/dx = g m(u')`, `dL/dtheta0 = sum g (q_1(u') - u m(u'))`, the
 * LSQ/PACT gradient of the shifted quantiser. Slower than the fused kernels (a few more passes).
 */
function shiftedLearnedQ(x: tf.Tensor, theta0: tf.Tensor, unit: StcConfig): tf.Tensor {
  return tf.mul(stcQuantize(tf.div(x, theta0), unit), theta0);
}

/** @throws RangeError unless `theta0` is a scalar or a vector (`[Cin]`) */
function checkTheta0(theta0: tf.Tensor): void {
  if (theta0.rank > 1) throw new RangeError(`theta0 must be a scalar or [Cin], got shape [${theta0.shape}]`);
}

/**
 * STCB with a 2-D convolution and learned thresholds `theta(t) = theta0 theta_1(t)`, `theta0`
 * a tensor (one per layer, `[]`, or per input channel, `[Cin]`). By the STEB's scale
 * equivariance, `q(x; theta0) = theta0 q_1(x / theta0)` (`q_1`: the quantiser of `unit`, whose
 * `theta0` is 1; the spike trains of `x` with thresholds `theta0 theta_1(t)` and of `x / theta0`
 * with `theta_1(t)` are the same), and on the spike-train path the weights absorb `theta0` (a
 * binary spike train stays binary; spiking hardware keeps additions only):
 *
 * ```
 * u = x / theta0,   y = W * (theta0 q_1(u)) = (W theta0) * q_1(u)      (theta0 on W's Cin axis)
 * ```
 *
 * The fused path computes the left form, `W * q` with `q = theta0 q_1(u)` from one kernel
 * (`StcQuantizeScaled`), and its backward pass is one kernel too (`StcQuantizeScaledGrad`, see
 * `learnedOp`): the weights are left as they are. Both forms agree to float rounding.
 *
 * The gradients are those of this composition with {@link stcConv2d}'s equivalent gradient
 * (`m(u)` its mask, `1[u > 0]` or `1[0 < u < S_1]`, `S_1 = sum_t theta_1(t)`; `g = W^T dy`, the
 * convolution's input gradient):
 *
 * ```
 * dL/dx        = g m(u)
 * dL/dW        = the filter gradient of the convolution with input theta0 q_1(u)
 * dL/dtheta0_c = sum over n, h, w (and c, for one threshold per layer) of g (q_1(u) - u m(u))
 * ```
 *
 * so that `dq/dtheta0` is the quantisation residual `q_1(u) - u` inside the mask, `S_1` above it
 * (saturated inputs ask for a larger threshold) and 0 below 0: LSQ's step-size gradient
 * (Esser et al. 2020), with PACT's `S_1` for clipped inputs (docs/semantics.md §1.5).
 *
 * @param x membrane potentials `[N, H, W, Cin]`
 * @param w filter `[kh, kw, Cin, Cout]`
 * @param theta0 `[]` or `[Cin]`, positive
 * @param unit the STC configuration with `theta0 = 1` (`unitConfig(cfg)`)
 */
export function stcConv2dLearned(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  theta0: tf.Tensor,
  unit: StcConfig,
  g: Conv2dGeometry,
  path: StcPath = 'fused',
): tf.Tensor4D {
  if (path === 'fused') {
    checkTheta0(theta0);
    if (unit.shift !== 'none') return conv2d(shiftedLearnedQ(x, theta0, unit) as tf.Tensor4D, w, g);
    return learnedOp((q: tf.Tensor4D, ws) => conv2d(q, ws as tf.Tensor4D, g), conv2dGrads(g), unit)(
      x,
      w,
      theta0,
    );
  }
  const u = tf.div(x, theta0) as tf.Tensor4D;
  return stcConv2d(u, tf.mul(w, inputAxisScale(theta0, 4)) as tf.Tensor4D, unit, g, path);
}

/**
 * STCB with a linear layer and learned thresholds (see {@link stcConv2dLearned}):
 * `y = (W theta0) q_1(x / theta0)`, `x: [N, in]`, `w: [in, out]`, `theta0: []` or `[in]`.
 */
export function stcLinearLearned(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  theta0: tf.Tensor,
  unit: StcConfig,
  path: StcPath = 'fused',
): tf.Tensor2D {
  if (path === 'fused') {
    checkTheta0(theta0);
    if (unit.shift !== 'none') return tf.matMul(shiftedLearnedQ(x, theta0, unit) as tf.Tensor2D, w);
    return learnedOp((q: tf.Tensor2D, ws) => tf.matMul(q, ws as tf.Tensor2D), linearGrads, unit)(
      x,
      w,
      theta0,
    );
  }
  const u = tf.div(x, theta0) as tf.Tensor2D;
  return stcLinear(u, tf.mul(w, inputAxisScale(theta0, 2)) as tf.Tensor2D, unit, path);
}

/**
 * The identity with its gradient multiplied by `g`: `y = x`, `dL/dx = g dL/dy` (LSQ's gradient
 * scale of a learned threshold, `thresholdGradScale`).
 */
export function scaleGrad<T extends tf.Tensor>(x: T, g: number): T {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [v] = args as [tf.Tensor];
    return { value: tf.clone(v), gradFunc: (dy: tf.Tensor) => tf.mul(dy, g) };
  });
  return f(x) as T;
}

/**
 * `ReLU -> Conv` (no bias), the ANN twin of {@link stcConv2d}: the same values and gradients as
 * `conv2d(relu(x), w)`, keeping only `x` and `w` for the backward pass.
 *
 * @param x `[N, H, W, Cin]`
 * @param w filter `[kh, kw, Cin, Cout]`
 * @returns `[N, Ho, Wo, Cout]`
 */
export function reluConv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: Conv2dGeometry): tf.Tensor4D {
  const forward = (xs: tf.Tensor4D, ws: tf.Tensor): tf.Tensor4D => conv2d(tf.relu(xs), ws as tf.Tensor4D, g);
  return actOp(forward, conv2dActGrad(g, { thresholds: [], strict: false, upper: Infinity, relu: true }))(
    x,
    w,
  );
}

/** `ReLU -> Linear` (no bias), the ANN twin of {@link stcLinear}: `x: [N, in]`, `w: [in, out]`. */
export function reluLinear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const forward = (xs: tf.Tensor2D, ws: tf.Tensor): tf.Tensor2D => tf.matMul(tf.relu(xs), ws as tf.Tensor2D);
  return actOp(forward, actGrad(linearBackward, tf.relu, Infinity))(x, w);
}
