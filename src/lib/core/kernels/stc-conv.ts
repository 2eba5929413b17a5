/**
 * An STCB with a 2-D convolution as two named kernels (see `table.ts`), so that a native backend
 * makes each one call: its forward value on the fused path, `StcConv2D` (inputs `x, w`, attrs
 * `thresholds, strict, stride, pad`), `y = Conv2D(q(x), w)`, and its backward pass,
 * `StcConv2DBackward` (inputs `dy, x, w`, outputs `[dx, dw]`, attrs `thresholds, strict, upper,
 * relu, stride, pad`):
 *
 * ```
 * a  = q(x)  (relu(x) with relu)                       recomputed, [N, H, W, Cin]
 * dw = Conv2DBackpropFilter(a, dy)                     [kh, kw, Cin, Cout]
 * dx = Conv2DBackpropInput(dy, w) * 1[0 < x < upper]   [N, H, W, Cin]
 * ```
 *
 * Every other backend runs the kernels they fuse one after the other ({@link stcConv2dOps},
 * {@link stcConv2dBackwardOps}).
 */
import * as tf from '@tensorflow/tfjs-core';
import { opsKernel, runKernel } from './array-kernel.js';
import type { KernelAttrs } from './table.js';

/** Explicit NHWC padding for TensorFlow.js: `[[0,0],[p,p],[p,p],[0,0]]`. */
export function explicitPad(pad: number): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
}

/** TensorFlow.js's padding for PyTorch's symmetric zero padding `pad`. */
export function convPad(pad: number): 'valid' | tf.backend_util.ExplicitPadding {
  return pad === 0 ? 'valid' : explicitPad(pad);
}

/** `dL/da` of `y = conv(a, w)` (NHWC, HWIO), `a` of shape `shape`. */
export function conv2dInputGrad(
  dy: tf.Tensor,
  w: tf.Tensor,
  shape: readonly number[],
  stride: number,
  pad: number,
): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      tf.Conv2DBackpropInput,
      { dy, filter: w },
      { strides: [stride, stride], pad: convPad(pad), dataFormat: 'NHWC', inputShape: [...shape] },
    ) as tf.Tensor;
}

/** `dL/dw` of `y = conv(a, w)` (NHWC, HWIO), `w` of shape `filterShape`. */
export function conv2dFilterGrad(
  dy: tf.Tensor,
  a: tf.Tensor,
  filterShape: readonly number[],
  stride: number,
  pad: number,
): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      tf.Conv2DBackpropFilter,
      { x: a, dy },
      { strides: [stride, stride], pad: convPad(pad), dataFormat: 'NHWC', filterShape: [...filterShape] },
    ) as tf.Tensor;
}

/** Reference of `StcConv2D` with TensorFlow.js's kernels and `StcQuantize`: `conv(q(x), w)`. */
export function stcConv2dOps(
  x: tf.Tensor,
  w: tf.Tensor,
  { thresholds, strict, stride, pad }: KernelAttrs<'StcConv2D'>,
): tf.Tensor {
  const q = runKernel('StcQuantize', { x }, { thresholds, strict });
  return tf.conv2d(q as tf.Tensor4D, w as tf.Tensor4D, stride, convPad(pad));
}

/** Reference of `StcConv2DBackward` with TensorFlow.js's kernels and the STC kernels: `[dx, dw]`. */
export function stcConv2dBackwardOps(
  dy: tf.Tensor,
  x: tf.Tensor,
  w: tf.Tensor,
  { thresholds, strict, upper, relu, stride, pad }: KernelAttrs<'StcConv2DBackward'>,
): [tf.Tensor, tf.Tensor] {
  const a = relu ? tf.relu(x) : runKernel('StcQuantize', { x }, { thresholds, strict, upper });
  const da = conv2dInputGrad(dy, w, x.shape, stride, pad);
  const dw = conv2dFilterGrad(dy, a, w.shape, stride, pad);
  return [runKernel('StcQuantizeGrad', { dy: da, x }, { upper }), dw];
}

/** The `StcConv2D` and `StcConv2DBackward` kernels for `backendName`, written with kernels (any backend). */
export function stcConvKernels(backendName: string): tf.KernelConfig[] {
  return [
    opsKernel('StcConv2D', backendName, (i, a) => stcConv2dOps(i.x, i.w, a)),
    opsKernel('StcConv2DBackward', backendName, (i, a) => stcConv2dBackwardOps(i.dy, i.x, i.w, a)),
  ];
}
