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
 * `dL/dx` = (the convolution's input gradient of `dL/dy`) * `1[x > 0]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { thresholds, type StcConfig } from './config.js';
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

function maskGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(STC_QUANTIZE_GRAD, { dy, x }) as tf.Tensor;
}

/** CAB over a stacked `[T*N, ...]` tensor: reshape to `[T, N, ...]`, `sum_t theta(t) I(t)`. */
function accumulate(currents: tf.Tensor, cfg: StcConfig): tf.Tensor {
  const [tn, ...rest] = currents.shape;
  const n = tn / cfg.T;
  const th = tf.reshape(tf.tensor1d(thresholds(cfg)), [cfg.T, 1, ...rest.map(() => 1)]);
  return tf.sum(tf.mul(tf.reshape(currents, [cfg.T, n, ...rest]), th), 0);
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
  if (path === 'fused') return conv2d(stcQuantize(x, cfg) as tf.Tensor4D, w, g);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ws, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x4 = xs as tf.Tensor4D;
    const [n, h, wd, c] = x4.shape;
    const frames = tf.reshape(encode(x4, cfg), [cfg.T * n, h, wd, c]) as tf.Tensor4D;
    const value = accumulate(conv2d(frames, ws as tf.Tensor4D, g), cfg);
    save([xs, ws]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        const q = stcQuantize(sx, cfg) as tf.Tensor4D;
        const pad = g.pad === 0 ? 'valid' : explicitPad(g.pad);
        const dq = tf
          .engine()
          .runKernel(
            tf.Conv2DBackpropInput,
            { dy, filter: sw },
            { strides: [g.stride, g.stride], pad, dataFormat: 'NHWC', inputShape: sx.shape },
          ) as tf.Tensor;
        const dw = tf
          .engine()
          .runKernel(
            tf.Conv2DBackpropFilter,
            { x: q, dy },
            { strides: [g.stride, g.stride], pad, dataFormat: 'NHWC', filterShape: sw.shape },
          ) as tf.Tensor;
        return [maskGrad(dq, sx), dw];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
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
  if (path === 'fused') return tf.matMul(stcQuantize(x, cfg) as tf.Tensor2D, w);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ws, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [n, d] = xs.shape;
    const frames = tf.reshape(encode(xs, cfg), [cfg.T * n, d]) as tf.Tensor2D;
    const value = accumulate(tf.matMul(frames, ws as tf.Tensor2D), cfg);
    save([xs, ws]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const q = stcQuantize(sx, cfg) as tf.Tensor2D;
        const dq = tf.matMul(dy as tf.Tensor2D, sw, false, true);
        const dw = tf.matMul(q, dy as tf.Tensor2D, true, false);
        return [maskGrad(dq, sx), dw];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}
