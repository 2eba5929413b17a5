/**
 * The native kernels of the libtorch backend, registered with TensorFlow.js per kernel name.
 * Each maps a TensorFlow.js kernel (inputs, attrs) onto one addon call. Geometry (padding,
 * output sizes, slice bounds) is computed here with TensorFlow.js's own helpers, so the
 * semantics are TensorFlow.js's; the arithmetic is ATen's.
 *
 * A kernel throws an error whose message starts with `unsupported:` for a case it does not
 * serve; the registration wrapper then runs the cpu kernel (see `fallback.js`).
 *
 * stcsnn's own named kernels (`stcKernels`) are those of the kernel table, `kernel-table.js`
 * (generated from the main package's src/lib/core/kernels/table.ts): one per name, attributes read
 * with the table's `readAttrs` (typed, defaults filled in).
 */
import * as tf from '@tensorflow/tfjs-core';
import { dtypeCode } from './backend.js';
import { readAttrs } from './kernel-table.js';

const { backend_util: bu, util, slice_util: su } = tf;

/**
 * @typedef {import('./backend.js').LibtorchBackend} Backend
 * @typedef {{ inputs: Record<string, tf.TensorInfo>, attrs: Record<string, any>, backend: Backend }} Args
 * @typedef {(args: Args) => tf.TensorInfo | tf.TensorInfo[]} Impl
 * @typedef {import('./kernel-table.js').KernelName} KernelName
 */

/** @param {string} why */
function unsupported(why) {
  return new Error(`unsupported: ${why}`);
}

/** @param {string} act @returns {number} */
function activationCode(act) {
  const codes = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 };
  const c = /** @type {Record<string, number>} */ (codes)[act ?? 'linear'];
  if (c === undefined) throw unsupported(`activation ${act}`);
  return c;
}

/** @param {string | undefined} dataFormat */
function requireNhwc(dataFormat) {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw unsupported(`data format ${dataFormat}`);
  }
}

/**
 * @param {{ padInfo: { top: number, bottom: number, left: number, right: number }, strideHeight: number, strideWidth: number, dilationHeight: number, dilationWidth: number }} c
 * @returns {number[]} sh, sw, pt, pb, pl, pr, dh, dw
 */
function geometry(c) {
  const p = c.padInfo;
  return [c.strideHeight, c.strideWidth, p.top, p.bottom, p.left, p.right, c.dilationHeight, c.dilationWidth];
}

/**
 * The inputs of a kernel that takes a list (Concat, Pack, AddN): an array or an object.
 * @param {Record<string, tf.TensorInfo> | tf.TensorInfo[]} inputs
 * @returns {tf.TensorInfo[]}
 */
function listOf(inputs) {
  return Array.isArray(inputs) ? inputs : Object.values(inputs);
}

/** @param {tf.TensorInfo} t */
function size(t) {
  return util.sizeFromShape(t.shape);
}

/**
 * @param {Backend} be
 * @param {tf.TensorInfo | undefined | null} t
 */
function optId(be, t) {
  return t == null ? -1 : be.id(t);
}

/**
 * Whether TensorFlow.js is recording a gradient tape (inside `tf.grads`, `variableGrads`,
 * stcsnn's `valueAndGrads`): then a convolution must take the plain path (see the prepacked
 * filters in src/ops.cc). Read from the engine's state; assumed recording when it is not there.
 */
function recordingGradients() {
  const depth = /** @type {{ state?: { gradientDepth?: number } }} */ (/** @type {unknown} */ (tf.engine()))
    .state?.gradientDepth;
  return typeof depth !== 'number' || depth > 0;
}

/**
 * Every native kernel by name: TensorFlow.js's kernels and the table's ({@link stcKernels}).
 * @returns {Record<string, Impl>}
 */
export function nativeKernels(/** @type {Record<string, any>} */ A) {
  /** @type {Record<string, Impl>} */
  const k = {};

  // ---- elementwise ----
  for (const [name, code] of Object.entries(/** @type {Record<string, number>} */ (A.unaryCodes))) {
    if (name.startsWith('__')) continue;
    k[name] = ({ inputs, attrs, backend: be }) => {
      const alpha = attrs?.alpha ?? (name === 'Step' ? 0 : 0.2);
      return be.output(A.unary(code, be.id(inputs.x), alpha));
    };
  }
  for (const [name, code] of Object.entries(/** @type {Record<string, number>} */ (A.binaryCodes))) {
    k[name] =
      name === 'Prelu'
        ? ({ inputs, backend: be }) => be.output(A.binary(code, be.id(inputs.x), be.id(inputs.alpha)))
        : ({ inputs, backend: be }) => be.output(A.binary(code, be.id(inputs.a), be.id(inputs.b)));
  }
  k.AddN = ({ inputs, backend: be }) => {
    const list = listOf(inputs);
    return be.output(A.addN(list.map((t) => be.id(t))));
  };
  k.ClipByValue = ({ inputs, attrs, backend: be }) =>
    be.output(A.clip(be.id(inputs.x), attrs.clipValueMin, attrs.clipValueMax));
  k.Select = ({ inputs, backend: be }) =>
    be.output(A.select(be.id(inputs.condition), be.id(inputs.t), be.id(inputs.e)));
  k.Cast = ({ inputs, attrs, backend: be }) => {
    const x = inputs.x;
    if (attrs.dtype === x.dtype) {
      be.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }
    return be.output(A.cast(be.id(x), dtypeCode(attrs.dtype)));
  };
  k.Identity = ({ inputs, backend: be }) => {
    const x = inputs.x;
    be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

  // ---- reductions ----
  /** @param {number} code @param {string} axisAttr */
  const reduction = (code, axisAttr) =>
    /** @type {Impl} */ (
      ({ inputs, attrs, backend: be }) => {
        const x = inputs.x;
        const axes = util.parseAxisParam(attrs[axisAttr], x.shape);
        return be.output(A.reduce(code, be.id(x), axes, attrs.keepDims === true));
      }
    );
  const R = /** @type {Record<string, number>} */ (A.reduceCodes);
  k.Sum = reduction(R.Sum, 'axis');
  k.Mean = reduction(R.Mean, 'axis');
  k.Max = reduction(R.Max, 'reductionIndices');
  k.Min = reduction(R.Min, 'axis');
  k.Prod = reduction(R.Prod, 'axis');
  k.Any = reduction(R.Any, 'axis');
  k.All = reduction(R.All, 'axis');
  k.ArgMax = ({ inputs, attrs, backend: be }) =>
    be.output(A.argMinMax(be.id(inputs.x), util.parseAxisParam(attrs.axis, inputs.x.shape)[0], true));
  k.ArgMin = ({ inputs, attrs, backend: be }) =>
    be.output(A.argMinMax(be.id(inputs.x), util.parseAxisParam(attrs.axis, inputs.x.shape)[0], false));
  k.Softmax = ({ inputs, attrs, backend: be }) => {
    const x = inputs.logits;
    const dim = attrs.dim === -1 || attrs.dim == null ? x.shape.length - 1 : attrs.dim;
    return be.output(A.softmax(be.id(x), dim));
  };

  // ---- shapes and data movement ----
  k.Reshape = ({ inputs, attrs, backend: be }) => {
    const x = inputs.x;
    const shape = util.inferFromImplicitShape(attrs.shape, size(x));
    return be.output(A.reshape(be.id(x), shape));
  };
  k.ExpandDims = ({ inputs, attrs, backend: be }) => {
    const x = inputs.input;
    const r = x.shape.length;
    const d = attrs.dim < 0 ? attrs.dim + r + 1 : attrs.dim;
    const shape = x.shape.slice();
    shape.splice(d, 0, 1);
    return be.output(A.reshape(be.id(x), shape));
  };
  k.Transpose = ({ inputs, attrs, backend: be }) => be.output(A.transpose(be.id(inputs.x), attrs.perm));
  k.Reverse = ({ inputs, attrs, backend: be }) =>
    be.output(A.reverse(be.id(inputs.x), util.parseAxisParam(attrs.dims, inputs.x.shape)));
  k.PadV2 = ({ inputs, attrs, backend: be }) =>
    be.output(A.pad(be.id(inputs.x), attrs.paddings.flat(), attrs.constantValue ?? 0));
  k.Slice = ({ inputs, attrs, backend: be }) => {
    const x = inputs.x;
    const [begin, sz] = su.parseSliceParams(/** @type {any} */ (x), attrs.begin, attrs.size);
    su.assertParamsValid(/** @type {any} */ (x), begin, sz);
    return be.output(A.slice(be.id(x), begin, sz));
  };
  k.StridedSlice = ({ inputs, attrs, backend: be }) => {
    const x = inputs.x;
    const info = su.sliceInfo(
      x.shape,
      attrs.begin,
      attrs.end,
      attrs.strides,
      attrs.beginMask,
      attrs.endMask,
      attrs.ellipsisMask,
      attrs.newAxisMask,
      attrs.shrinkAxisMask,
    );
    if (info.isIdentity) return be.output(A.reshape(be.id(x), info.finalShape));
    return be.output(A.stridedSlice(be.id(x), info.begin, info.end, info.strides, info.finalShape));
  };
  k.Concat = ({ inputs, attrs, backend: be }) => {
    const list = listOf(inputs);
    const axis = util.parseAxisParam(attrs.axis, list[0].shape)[0];
    const shapes = list.map((t) => t.shape);
    const outShape = bu.computeOutShape(shapes, axis);
    const nonEmpty = list.filter((t) => size(t) > 0);
    if (nonEmpty.length === 0) return be.output(A.fill(outShape, 0, dtypeCode(list[0].dtype)));
    return be.output(
      A.concat(
        nonEmpty.map((t) => be.id(t)),
        axis,
      ),
    );
  };
  k.Pack = ({ inputs, attrs, backend: be }) => {
    const list = listOf(inputs);
    const axis = attrs.axis < 0 ? attrs.axis + list[0].shape.length + 1 : attrs.axis;
    return be.output(
      A.pack(
        list.map((t) => be.id(t)),
        axis,
      ),
    );
  };
  k.Unpack = ({ inputs, attrs, backend: be }) => {
    const x = inputs.value;
    const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
    return be.outputs(A.unpack(be.id(x), axis));
  };
  k.SplitV = ({ inputs, attrs, backend: be }) => {
    const x = inputs.x;
    const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = bu.prepareSplitSize(/** @type {any} */ (x), attrs.numOrSizeSplits, axis);
    return be.outputs(A.split(be.id(x), sizes, axis));
  };
  k.Tile = ({ inputs, attrs, backend: be }) => be.output(A.tile(be.id(inputs.x), attrs.reps));
  k.Fill = ({ attrs, backend: be }) =>
    be.output(
      A.fill(attrs.shape, Number(attrs.value), dtypeCode(attrs.dtype ?? util.inferDtype(attrs.value))),
    );
  k.Range = ({ attrs, backend: be }) =>
    be.output(A.range(attrs.start, attrs.stop, attrs.step, dtypeCode(attrs.dtype)));
  k.ZerosLike = ({ inputs, backend: be }) => {
    dtypeCode(inputs.x.dtype);
    return be.output(A.fullLike(be.id(inputs.x), 0));
  };
  k.OnesLike = ({ inputs, backend: be }) => {
    dtypeCode(inputs.x.dtype);
    return be.output(A.fullLike(be.id(inputs.x), 1));
  };
  k.OneHot = ({ inputs, attrs, backend: be }) =>
    be.output(
      A.oneHot(
        be.id(inputs.indices),
        attrs.depth,
        attrs.onValue ?? 1,
        attrs.offValue ?? 0,
        dtypeCode(attrs.dtype ?? 'int32'),
      ),
    );
  k.GatherV2 = ({ inputs, attrs, backend: be }) => {
    if (attrs.batchDims) throw unsupported('GatherV2 with batchDims');
    const axis = util.parseAxisParam(attrs.axis, inputs.x.shape)[0];
    return be.output(A.gather(be.id(inputs.x), be.id(inputs.indices), axis));
  };

  // ---- convolution, pooling, matmul ----
  /** @param {Args} args @param {boolean} fused */
  const conv = ({ inputs, attrs, backend: be }, fused) => {
    requireNhwc(attrs.dataFormat);
    const x = inputs.x;
    const f = inputs.filter;
    const c = bu.computeConv2DInfo(
      /** @type {any} */ (x.shape),
      /** @type {any} */ (f.shape),
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    return be.output(
      A.conv2d(
        be.id(x),
        be.id(f),
        ...geometry(c),
        fused ? optId(be, inputs.bias) : -1,
        fused ? activationCode(attrs.activation) : 0,
        fused ? optId(be, inputs.preluActivationWeights) : -1,
        attrs.leakyreluAlpha ?? 0.2,
        !recordingGradients(),
      ),
    );
  };
  k.Conv2D = (a) => conv(a, false);
  k.FusedConv2D = (a) => conv(a, true);
  k.Conv2DBackpropInput = ({ inputs, attrs, backend: be }) => {
    requireNhwc(attrs.dataFormat);
    const shape = /** @type {[number, number, number, number]} */ (attrs.inputShape);
    const c = bu.computeConv2DInfo(
      shape,
      /** @type {any} */ (inputs.filter.shape),
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    return be.output(A.conv2dInputGrad(be.id(inputs.dy), be.id(inputs.filter), ...shape, ...geometry(c)));
  };
  k.Conv2DBackpropFilter = ({ inputs, attrs, backend: be }) => {
    requireNhwc(attrs.dataFormat);
    const fs = /** @type {[number, number, number, number]} */ (attrs.filterShape);
    const c = bu.computeConv2DInfo(
      /** @type {any} */ (inputs.x.shape),
      fs,
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    return be.output(A.conv2dFilterGrad(be.id(inputs.x), be.id(inputs.dy), ...fs, ...geometry(c)));
  };
  /** @param {tf.TensorInfo} x @param {Record<string, any>} attrs */
  const pool = (x, attrs) => {
    const c = bu.computePool2DInfo(
      /** @type {any} */ (x.shape),
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (c.dilationHeight !== 1 || c.dilationWidth !== 1) throw unsupported('dilated pooling');
    const p = c.padInfo;
    return [c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, p.top, p.bottom, p.left, p.right];
  };
  k.MaxPool = ({ inputs, attrs, backend: be }) =>
    be.output(A.maxPool(be.id(inputs.x), ...pool(inputs.x, attrs)));
  k.MaxPoolGrad = ({ inputs, attrs, backend: be }) =>
    be.output(A.maxPoolGrad(be.id(inputs.dy), be.id(inputs.input), ...pool(inputs.input, attrs)));
  k.AvgPool = ({ inputs, attrs, backend: be }) =>
    be.output(A.avgPool(be.id(inputs.x), ...pool(inputs.x, attrs)));
  k.AvgPoolGrad = ({ inputs, attrs, backend: be }) =>
    be.output(A.avgPoolGrad(be.id(inputs.dy), be.id(inputs.input), ...pool(inputs.input, attrs)));
  k.BatchMatMul = ({ inputs, attrs, backend: be }) =>
    be.output(
      A.matmul(be.id(inputs.a), be.id(inputs.b), attrs.transposeA === true, attrs.transposeB === true),
    );
  k._FusedMatMul = ({ inputs, attrs, backend: be }) =>
    be.output(
      A.matmul(
        be.id(inputs.a),
        be.id(inputs.b),
        attrs.transposeA === true,
        attrs.transposeB === true,
        optId(be, inputs.bias),
        activationCode(attrs.activation),
        optId(be, inputs.preluActivationWeights),
        attrs.leakyreluAlpha ?? 0.2,
      ),
    );
  k.FusedBatchNorm = ({ inputs, attrs, backend: be }) =>
    be.output(
      A.batchNormInfer(
        be.id(inputs.x),
        be.id(inputs.mean),
        be.id(inputs.variance),
        optId(be, inputs.offset),
        optId(be, inputs.scale),
        attrs.varianceEpsilon ?? 0.001,
      ),
    );

  return { ...k, ...stcKernels(A) };
}

/**
 * The fused kernels of the kernel table, one per name (the type requires every name of the
 * table and no other).
 * @returns {{ [N in KernelName]: Impl }}
 */
export function stcKernels(/** @type {Record<string, any>} */ A) {
  return {
    StcQuantize: ({ inputs, attrs, backend: be }) => {
      const a = readAttrs('StcQuantize', attrs);
      return be.output(A.stcQuantize(be.id(inputs.x), a.thresholds, a.strict));
    },
    StcQuantizeGrad: ({ inputs, attrs, backend: be }) => {
      const { upper } = readAttrs('StcQuantizeGrad', attrs);
      return be.output(
        Number.isFinite(upper)
          ? A.stcQuantizeGrad(be.id(inputs.dy), be.id(inputs.x), upper)
          : A.stcQuantizeGrad(be.id(inputs.dy), be.id(inputs.x)),
      );
    },
    StcQuantizeScaled: ({ inputs, attrs, backend: be }) => {
      const a = readAttrs('StcQuantizeScaled', attrs);
      return be.output(A.stcQuantizeScaled(be.id(inputs.x), be.id(inputs.theta0), a.thresholds, a.strict));
    },
    StcQuantizeScaledGrad: ({ inputs, attrs, backend: be }) => {
      const a = readAttrs('StcQuantizeScaledGrad', attrs);
      const args = [be.id(inputs.dy), be.id(inputs.x), be.id(inputs.theta0), a.thresholds, a.strict];
      return be.outputs(
        Number.isFinite(a.upper)
          ? A.stcQuantizeScaledGrad(...args, a.upper)
          : A.stcQuantizeScaledGrad(...args),
      );
    },
    StcEncode: ({ inputs, attrs, backend: be }) => {
      const a = readAttrs('StcEncode', attrs);
      return be.output(A.stcEncode(be.id(inputs.x), a.thresholds, a.strict));
    },
    StcSpikeCount: ({ inputs, attrs, backend: be }) => {
      const a = readAttrs('StcSpikeCount', attrs);
      return be.output(A.stcSpikeCount(be.id(inputs.x), a.thresholds, a.strict));
    },
    StcBatchNormTrain: ({ inputs, attrs, backend: be }) => {
      const { eps } = readAttrs('StcBatchNormTrain', attrs);
      return be.outputs(A.bnTrain(be.id(inputs.x), be.id(inputs.gamma), be.id(inputs.beta), eps));
    },
    StcBatchNormTrainGrad: ({ inputs, backend: be }) =>
      be.outputs(
        A.bnTrainGrad(
          be.id(inputs.dy),
          be.id(inputs.x),
          be.id(inputs.gamma),
          be.id(inputs.mean),
          be.id(inputs.invstd),
        ),
      ),
    StcConv2D: ({ inputs: i, attrs, backend: be }) => {
      const a = readAttrs('StcConv2D', attrs);
      return be.output(
        A.stcConv2d(be.id(i.x), be.id(i.w), a.thresholds, a.strict, a.stride, a.pad, !recordingGradients()),
      );
    },
    StcConv2DBackward: ({ inputs: i, attrs, backend: be }) => {
      const a = readAttrs('StcConv2DBackward', attrs);
      return be.outputs(
        A.stcConv2dBackward(
          be.id(i.dy),
          be.id(i.x),
          be.id(i.w),
          a.thresholds,
          a.strict,
          a.upper,
          a.relu,
          a.stride,
          a.pad,
        ),
      );
    },
    StcSquaredNorm: ({ inputs, backend: be }) => be.output(A.squaredNorm(be.id(inputs.x))),
    StcBatchNormRunning: ({ inputs: i, attrs, backend: be }) => {
      const { momentum: k, eps, count } = readAttrs('StcBatchNormRunning', attrs);
      // the numbers as batchNormRunningOps (src/lib/core/kernels/batch-norm.ts) computes them
      const ids = [i.runningMean, i.runningVar, i.numBatchesTracked, i.mean, i.invstd].map((t) => be.id(t));
      return be.outputs(A.bnRunning(...ids, 1 - k, k, eps, count / Math.max(1, count - 1)));
    },
    // In place when nothing but the variables holds p and b (one reference to each dataId, and
    // the addon checks that no view shares their memory): the outputs are p's and b's own data,
    // so that `variable.assign` keeps the buffers (see sgdStepInPlace in stc.cc).
    StcSgdStep: ({ inputs, attrs, backend: be }) => {
      const { p, b, grad } = inputs;
      const { lr, momentum, weightDecay, nesterov } = readAttrs('StcSgdStep', attrs);
      if (
        p.dataId !== b.dataId &&
        be.refCount(p.dataId) === 1 &&
        be.refCount(b.dataId) === 1 &&
        be.ownShape(p) &&
        be.ownShape(b) &&
        A.sgdStepInPlace(be.id(p), be.id(b), be.id(grad), lr, momentum, weightDecay, nesterov)
      ) {
        be.incRef(p.dataId);
        be.incRef(b.dataId);
        return [
          { dataId: p.dataId, shape: p.shape, dtype: p.dtype },
          { dataId: b.dataId, shape: b.shape, dtype: b.dtype },
        ];
      }
      return be.outputs(A.sgdStep(be.id(p), be.id(b), be.id(grad), lr, momentum, weightDecay, nesterov));
    },
  };
}
