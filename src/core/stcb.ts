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
 * the backward pass and recompute `q(x)` there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gradientUpper, thresholds, type StcConfig } from './config.js';
import { STC_QUANTIZE_GRAD } from './kernels/stc-kernels.js';
import { encode, stcQuantize } from './stc.js';

/** How an STCB computes its forward pass. */
export type StcPath = 'fused' | 'spike-train';

/** Geometry of a 2-D convolution with PyTorch's symmetric zero padding. */
export interface Conv2dGeometry {
  /** Stride (same for both axes). */
  readonly stride: number;
  /** Zero padding on each side (same for both axes). */
  readonly pad: number;
}

/** Explicit NHWC padding for TensorFlow.js: `[[0,0],[p,p],[p,p],[0,0]]`. */
export function explicitPad(pad: number): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
}

/** A 2-D convolution without bias, NHWC, PyTorch padding. `x: [N,H,W,Cin]`, `w: [kh,kw,Cin,Cout]`. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: Conv2dGeometry): tf.Tensor4D {
  return tf.conv2d(x, w, g.stride, g.pad === 0 ? 'valid' : explicitPad(g.pad));
}

function maskGrad(dy: tf.Tensor, x: tf.Tensor, cfg: StcConfig): tf.Tensor {
  return tf.engine().runKernel(STC_QUANTIZE_GRAD, { dy, x }, { upper: gradientUpper(cfg) }) as tf.Tensor;
}

/** CAB over a stacked `[T*N, ...]` tensor: reshape to `[T, N, ...]`, `sum_t theta(t) I(t)`. */
function accumulate(currents: tf.Tensor, cfg: StcConfig): tf.Tensor {
  const [tn, ...rest] = currents.shape;
  const n = tn / cfg.T;
  const th = tf.reshape(tf.tensor1d(thresholds(cfg)), [cfg.T, 1, ...rest.map(() => 1)]);
  return tf.sum(tf.mul(tf.reshape(currents, [cfg.T, n, ...rest]), th), 0);
}

/**
 * An STCB as one differentiable op: `forward(x, w)` computes `y` by either path; the backward
 * pass is the equivalent gradient and recomputes `q(x)` (one elementwise pass) instead of
 * keeping it, so training holds `x` and `w` only (as `ReLU -> Conv` holds its input).
 */
function stcOp<X extends tf.Tensor, Y extends tf.Tensor>(
  forward: (x: X, w: tf.Tensor) => Y,
  backward: (dy: Y, q: X, w: tf.Tensor) => [dq: tf.Tensor, dw: tf.Tensor],
  cfg: StcConfig,
): (x: X, w: tf.Tensor) => Y {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [X, tf.Tensor, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: forward(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [X, tf.Tensor];
        const [dq, dw] = backward(dy as Y, stcQuantize(sx, cfg) as X, sw);
        return [maskGrad(dq, sx, cfg), dw];
      },
    };
  });
  return (x, w) => f(x, w) as Y;
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
  const forward = (xs: tf.Tensor4D, ws: tf.Tensor): tf.Tensor4D => {
    if (path === 'fused') return conv2d(stcQuantize(xs, cfg) as tf.Tensor4D, ws as tf.Tensor4D, g);
    const [n, h, wd, c] = xs.shape;
    const frames = tf.reshape(encode(xs, cfg), [cfg.T * n, h, wd, c]) as tf.Tensor4D;
    return accumulate(conv2d(frames, ws as tf.Tensor4D, g), cfg) as tf.Tensor4D;
  };
  const strides: [number, number] = [g.stride, g.stride];
  const pad = g.pad === 0 ? 'valid' : explicitPad(g.pad);
  const backward = (dy: tf.Tensor4D, q: tf.Tensor4D, ws: tf.Tensor): [tf.Tensor, tf.Tensor] => [
    tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropInput,
        { dy, filter: ws },
        { strides, pad, dataFormat: 'NHWC', inputShape: q.shape },
      ) as tf.Tensor,
    tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropFilter,
        { x: q, dy },
        { strides, pad, dataFormat: 'NHWC', filterShape: ws.shape },
      ) as tf.Tensor,
  ];
  return stcOp(forward, backward, cfg)(x, w);
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
  const forward = (xs: tf.Tensor2D, ws: tf.Tensor): tf.Tensor2D => {
    if (path === 'fused') return tf.matMul(stcQuantize(xs, cfg) as tf.Tensor2D, ws as tf.Tensor2D);
    const [n, d] = xs.shape;
    const frames = tf.reshape(encode(xs, cfg), [cfg.T * n, d]) as tf.Tensor2D;
    return accumulate(tf.matMul(frames, ws as tf.Tensor2D), cfg) as tf.Tensor2D;
  };
  const backward = (dy: tf.Tensor2D, q: tf.Tensor2D, ws: tf.Tensor): [tf.Tensor, tf.Tensor] => [
    tf.matMul(dy, ws as tf.Tensor2D, false, true),
    tf.matMul(q, dy, true, false),
  ];
  return stcOp(forward, backward, cfg)(x, w);
}
