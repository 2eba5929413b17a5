/**
 * Both convolution gradients written as forward convolutions, for backends whose own
 * gradient kernels are missing or slow (TensorFlow.js wasm has no `Conv2DBackpropFilter`, and
 * its `Conv2DBackpropInput` is ~10x slower than a forward convolution of the same size).
 *
 * NHWC, filter `[kh, kw, Cin, Cout]`, stride `s`, explicit padding `p` (top/left), output
 * `Ho = floor((H + p_top + p_bottom - kh) / s) + 1`; the forward convolution is
 * `y[o] = sum_j x[o s + j - p] w[j]`.
 *
 * - Input gradient: dilate `dy` by `s` (insert `s - 1` zeros), then a stride-1 convolution with
 *   the spatially flipped, in/out-swapped filter `w'[j', co, ci] = w[k-1-j', ci, co]`, padded
 *   `k - 1 - p` before and as much as makes the output `H` long after.
 * - Filter gradient: `dw[j, ci, co] = sum_{n,o} x[n, o s + j - p, ci] dy[n, o, co]`, a
 *   convolution of `x` with batch and channel axes swapped (`[Cin, H, W, N]`) by the filter
 *   `dy` as `[Ho, Wo, N, Cout]` at dilation `s`, then the first `kh x kw` outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { opsKernel } from '../core/kernels/array-kernel.js';

type Pair = [number, number];

interface Padding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

type Shape4 = [number, number, number, number];

/** The attributes both convolution gradients share (TensorFlow.js's declared types). */
type ConvGradAttrs = Pick<tf.Conv2DBackpropInputAttrs, 'strides' | 'pad' | 'dimRoundingMode'>;

function pair(v: ConvGradAttrs['strides']): Pair {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function padInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: Pair,
  attrs: ConvGradAttrs,
): { pad: Padding; outH: number; outW: number } {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return { pad: info.padInfo, outH: info.outHeight, outW: info.outWidth };
}

/** `dy` with `s - 1` zeros after every row/column: `[N, Ho*sh, Wo*sw, C]` (trailing zeros kept). */
function dilate(dy: tf.Tensor4D, [sh, sw]: Pair): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const six = tf.reshape(dy, [n, h, 1, w, 1, c]);
  const padded = tf.pad(six, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(padded, [n, h * sh, w * sw, c]);
}

/** The input gradient of a 2-D convolution by one forward convolution. */
export function conv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: readonly number[],
  strides: Pair,
  pad: Padding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const [, H, W] = inputShape;
    const [, ho, wo] = dy.shape;
    const [sh, sw] = strides;
    const d = dilate(dy, strides);
    const before: Pair = [kh - 1 - pad.top, kw - 1 - pad.left];
    // rows of the dilated dy, counting the s-1 trailing zeros that `dilate` keeps
    const after: Pair = [
      H - (ho - 1) * sh - 1 + pad.top - (sh - 1),
      W - (wo - 1) * sw - 1 + pad.left - (sw - 1),
    ];
    let src: tf.Tensor4D = d;
    // negative padding: crop instead
    const crop = [Math.max(0, -before[0]), Math.max(0, -before[1])];
    const cropEnd = [Math.max(0, -after[0]), Math.max(0, -after[1])];
    if (crop[0] || crop[1] || cropEnd[0] || cropEnd[1]) {
      src = tf.slice(
        d,
        [0, crop[0], crop[1], 0],
        [-1, d.shape[1] - crop[0] - cropEnd[0], d.shape[2] - crop[1] - cropEnd[1], -1],
      );
    }
    const wf = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(src, wf, 1, [
      [0, 0],
      [Math.max(0, before[0]), Math.max(0, after[0])],
      [Math.max(0, before[1]), Math.max(0, after[1])],
      [0, 0],
    ]);
  });
}

/** The filter gradient of a 2-D convolution by one forward convolution. */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: readonly number[],
  strides: Pair,
  pad: Padding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H, W, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
    const g = tf.conv2d(
      xt,
      dyt,
      1,
      [
        [0, 0],
        [pad.top, pad.bottom],
        [pad.left, pad.right],
        [0, 0],
      ],
      'NHWC',
      strides,
    ); // [Cin, >=kh, >=kw, Cout]
    const cut = g.shape[1] === kh && g.shape[2] === kw ? g : tf.slice(g, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` as forward convolutions for `backendName`,
 * to replace the backend's own (`registerAll` does, on `wasm`). NHWC only (what stcsnn uses).
 */
export function forwardConvGradientKernels(backendName: string): tf.KernelConfig[] {
  // TensorFlow.js's own kernels (not in stcsnn's kernel table): attributes as tfjs declares them.
  return [
    opsKernel(tf.Conv2DBackpropInput, backendName, (inputs, named) => {
      const attrs = named as unknown as tf.Conv2DBackpropInputAttrs;
      const dy = inputs.dy as tf.Tensor4D;
      const filter = inputs.filter as tf.Tensor4D;
      const strides = pair(attrs.strides);
      const { pad } = padInfo(attrs.inputShape, filter.shape, strides, attrs);
      return conv2dInputGrad(dy, filter, attrs.inputShape, strides, pad);
    }),
    opsKernel(tf.Conv2DBackpropFilter, backendName, (inputs, named) => {
      const attrs = named as unknown as tf.Conv2DBackpropFilterAttrs;
      const x = inputs.x as tf.Tensor4D;
      const dy = inputs.dy as tf.Tensor4D;
      const strides = pair(attrs.strides);
      const { pad } = padInfo(x.shape, attrs.filterShape, strides, attrs);
      return conv2dFilterGrad(x, dy, attrs.filterShape, strides, pad);
    }),
  ];
}
