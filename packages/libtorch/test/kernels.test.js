/**
 * Kernel-by-kernel agreement of the libtorch backend with TensorFlow.js's cpu backend (strict
 * mode: a kernel without a native implementation fails the test instead of falling back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxRelDiff, onBoth, rand, setup, skipReason, tf } from './helpers.js';

const TOL = 1e-4;

/** @param {string} name @param {(...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]} fn @param {any[]} inputs @param {number} [tol] */
function agree(name, fn, inputs, tol = TOL) {
  test(name, { skip: skipReason }, async () => {
    await setup();
    const r = await onBoth(fn, inputs);
    assert.equal(r.libtorch.length, r.cpu.length, 'number of outputs');
    r.cpu.forEach((c, i) => {
      const l = r.libtorch[i];
      assert.deepEqual(l.shape, c.shape, `shape of output ${i}`);
      assert.equal(l.dtype, c.dtype, `dtype of output ${i}`);
      const d = maxRelDiff(c.values, l.values);
      assert.ok(d <= tol, `output ${i}: max relative difference ${d} > ${tol}`);
    });
  });
}

const f = (shape, seed = 1, lo = -1, hi = 1) => ({
  values: rand(
    shape.reduce((a, b) => a * b, 1),
    seed,
    lo,
    hi,
  ),
  shape,
});
const ints = (values, shape) => ({ values, shape, dtype: 'int32' });

// ---- elementwise ----
const A = f([2, 3, 4], 1);
const B4 = f([4], 2);
agree(
  'Add/Sub/Multiply/RealDiv with broadcasting',
  (a, b) => [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, tf.add(tf.abs(b), 0.5))],
  [A, B4],
);
agree(
  'Maximum/Minimum/SquaredDifference/Pow',
  (a, b) => [tf.maximum(a, b), tf.minimum(a, b), tf.squaredDifference(a, b), tf.pow(tf.abs(a), b)],
  [A, B4],
);
agree(
  'unary math',
  (x) => [
    tf.neg(x),
    tf.abs(x),
    tf.exp(x),
    tf.log(tf.add(tf.abs(x), 0.1)),
    tf.sqrt(tf.abs(x)),
    tf.rsqrt(tf.add(tf.abs(x), 0.1)),
    tf.square(x),
    tf.relu(x),
    tf.sign(x),
    tf.step(x),
    tf.step(x, 0.3),
    tf.sigmoid(x),
    tf.tanh(x),
    tf.floor(x),
    tf.ceil(x),
    tf.round(tf.mul(x, 3)),
    tf.reciprocal(tf.add(tf.abs(x), 1)),
    tf.log1p(tf.abs(x)),
    tf.elu(x),
    tf.leakyRelu(x, 0.1),
    tf.relu6(tf.mul(x, 10)),
    tf.softplus(x),
  ],
  [A],
);
agree(
  'comparisons and Select',
  (a, b) => [
    tf.greater(a, b),
    tf.greaterEqual(a, b),
    tf.less(a, b),
    tf.lessEqual(a, b),
    tf.equal(tf.round(a), tf.round(b)),
    tf.notEqual(a, b),
    tf.where(tf.greater(a, b), a, b),
  ],
  [A, B4],
);
agree(
  'IsNan/IsInf/Cast/ClipByValue',
  (x) => [
    tf.isNaN(x),
    tf.isInf(x),
    tf.cast(x, 'int32'),
    tf.cast(tf.cast(x, 'int32'), 'float32'),
    tf.cast(tf.cast(x, 'bool'), 'float32'),
    tf.clipByValue(x, -0.5, 0.25),
  ],
  [{ values: [NaN, Infinity, -Infinity, 1.5, -2.7, 0, 3.2, -0.1], shape: [8] }],
);
agree('AddN', (a, b, c) => tf.addN([a, b, c]), [f([3, 5], 1), f([3, 5], 2), f([3, 5], 3)]);
agree(
  'logical ops',
  (a, b) => [
    tf.logicalAnd(tf.greater(a, 0), tf.greater(b, 0)),
    tf.logicalOr(tf.greater(a, 0), tf.greater(b, 0)),
    tf.logicalNot(tf.greater(a, 0)),
  ],
  [f([10], 4), f([10], 5)],
);

// ---- reductions ----
const R = f([3, 4, 5], 6);
agree(
  'Sum/Mean/Max/Min over axes',
  (x) => [
    tf.sum(x, 1),
    tf.mean(x, [0, 2]),
    tf.max(x, -1),
    tf.min(x, 0),
    tf.sum(x),
    tf.mean(x, [1, 2], true),
    tf.prod(tf.add(x, 1.5), 2),
  ],
  [R],
);
agree('ArgMax/ArgMin', (x) => [tf.argMax(x, 1), tf.argMin(x, 2), tf.argMax(x)], [R]);
agree(
  'Sum of int32 and bool',
  (x) => [tf.sum(x, 0), tf.sum(tf.greater(x, 2)), tf.any(tf.greater(x, 2), 1), tf.all(tf.greater(x, 0), 1)],
  [ints([1, 2, 3, 4, 5, 6], [2, 3])],
);
agree('Softmax/logSoftmax', (x) => [tf.softmax(x), tf.logSoftmax(x), tf.softmax(tf.reshape(x, [2, 2, 10]))], [
  f([4, 10], 7, -5, 5),
]);

// ---- shapes ----
agree(
  'Reshape/Transpose/Reverse',
  (x) => [
    tf.reshape(x, [4, -1]),
    tf.transpose(x, [2, 0, 1]),
    tf.reverse(x, [1, 2]),
    tf.expandDims(x, 1),
    tf.squeeze(tf.reshape(x, [1, 24])),
  ],
  [A],
);
agree(
  'PadV2/Slice/StridedSlice',
  (x) => [
    tf.pad(
      x,
      [
        [1, 0],
        [0, 2],
        [1, 1],
      ],
      0.5,
    ),
    tf.slice(x, [0, 1, 1], [-1, 2, 2]),
    tf.stridedSlice(x, [0, 0, 1], [2, 3, 4], [1, 2, 2]),
    tf.stridedSlice(x, [1], [2], [1], 0, 0, 0, 0, 1),
  ],
  [A],
);
agree(
  'Concat/Pack/Unpack/Split/Tile',
  (a, b) => [
    tf.concat([a, b], 1),
    tf.stack([a, b], 2),
    ...tf.unstack(a, 1),
    ...tf.split(a, [1, 2], 1),
    ...tf.split(b, 3, 1),
    tf.tile(a, [2, 1, 3]),
  ],
  [f([2, 3, 4], 1), f([2, 3, 4], 2)],
);
agree(
  'Fill/ZerosLike/OnesLike/Range/OneHot',
  (x, i) => [
    tf.fill([2, 3], 2.5),
    tf.zerosLike(x),
    tf.onesLike(x),
    tf.range(0, 10, 3),
    tf.oneHot(i, 5),
    tf.oneHot(i, 4, 2, -1),
  ],
  [A, ints([0, 3, 4, 1, 9, -1], [2, 3])],
);
agree('GatherV2', (x, i) => [tf.gather(x, i, 1), tf.gather(x, i, 0)], [
  f([5, 4, 3], 8),
  ints([0, 1, 1], [3]),
]);

// ---- convolutions, pooling, matmul, batch norm ----
/** @param {number[]} xs @param {number[]} ws @param {number} s @param {any} pad */
function convCase(name, xs, ws, s, pad) {
  const grads = (x, w) => {
    const loss = (a, b) => tf.sum(tf.mul(tf.conv2d(a, b, s, pad), tf.conv2d(a, b, s, pad)));
    const [dx, dw] = tf.grads(loss)([x, w]);
    return [tf.conv2d(x, w, s, pad), dx, dw];
  };
  agree(`Conv2D with grads: ${name}`, grads, [f(xs, 11), f(ws, 12)], 2e-4);
}
convCase('3x3 stride 1 explicit pad 1', [2, 6, 6, 3], [3, 3, 3, 4], 1, [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
]);
convCase('3x3 stride 2 explicit pad 1', [2, 8, 8, 4], [3, 3, 4, 5], 2, [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
]);
convCase('1x1 stride 2 valid', [2, 8, 8, 4], [1, 1, 4, 6], 2, 'valid');
convCase('3x3 stride 2 same (asymmetric padding)', [1, 8, 8, 2], [3, 3, 2, 3], 2, 'same');
convCase('3x3 stride 1 same, odd size', [2, 7, 5, 3], [3, 3, 3, 2], 1, 'same');
agree(
  'FusedConv2D with bias and relu',
  (x, w, b) => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
  [f([2, 5, 5, 3], 1), f([3, 3, 3, 4], 2), f([4], 3)],
);
agree(
  'MaxPool/AvgPool with grads',
  (x) => {
    const [dm] = tf.grads((a) => tf.sum(tf.mul(tf.maxPool(a, 2, 2, 'valid'), tf.maxPool(a, 2, 2, 'valid'))))([
      x,
    ]);
    const [da] = tf.grads((a) => tf.sum(tf.mul(tf.avgPool(a, 2, 2, 'valid'), tf.avgPool(a, 2, 2, 'valid'))))([
      x,
    ]);
    return [
      tf.maxPool(x, 2, 2, 'valid'),
      dm,
      tf.avgPool(x, 2, 2, 'valid'),
      da,
      tf.maxPool(x, 3, 2, 'same'),
      tf.avgPool(x, 3, 1, 'same'),
    ];
  },
  [f([2, 6, 6, 3], 21)],
);
agree(
  'MaxPool grad with ties (quantised inputs)',
  (x) => {
    const q = tf.relu(tf.round(tf.mul(x, 2)));
    const [d] = tf.grads((a) =>
      tf.sum(tf.mul(tf.maxPool(a, 2, 2, 'valid'), tf.reshape(tf.range(1, 2 * 3 * 3 * 3 + 1), [2, 3, 3, 3]))),
    )([q]);
    return d;
  },
  [f([2, 6, 6, 3], 22)],
);
agree(
  'BatchMatMul/_FusedMatMul with grads',
  (a, b, bias) => {
    const [da, db] = tf.grads((x, y) => tf.sum(tf.square(tf.matMul(x, y))))([a, b]);
    return [
      tf.matMul(a, b),
      tf.matMul(a, a, true, false),
      tf.matMul(b, a, true, true),
      tf.fused.matMul({ a, b, bias, activation: 'relu' }),
      da,
      db,
    ];
  },
  [f([4, 6], 31), f([6, 4], 32), f([4], 33)],
);
agree('FusedBatchNorm (inference)', (x, m, v, o, s) => tf.batchNorm(x, m, tf.abs(v), o, s, 1e-5), [
  f([2, 3, 3, 4], 41),
  f([4], 42),
  f([4], 43),
  f([4], 44),
  f([4], 45),
]);
agree(
  'softmax cross entropy with grads',
  (logits, labels) => {
    const loss = (l) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), 10), l);
    const [g] = tf.grads(loss)([logits]);
    return [loss(logits), g];
  },
  [f([8, 10], 51, -3, 3), { values: [0, 1, 2, 3, 4, 5, 6, 9], shape: [8] }],
);
agree(
  'mean over H, W (global average pool) with grad',
  (x) => {
    const [g] = tf.grads((a) => tf.sum(tf.square(tf.mean(a, [1, 2]))))([x]);
    return [tf.mean(x, [1, 2]), g];
  },
  [f([2, 4, 4, 8], 61)],
);

test(
  'a conv filter re-laid out for oneDNN keeps its values, and SGD keeps the layout',
  { skip: skipReason },
  async () => {
    await setup();
    await tf.setBackend('libtorch');
    const wv = rand(3 * 3 * 4 * 5, 11, -1, 1);
    const w = tf.tensor4d(wv, [3, 3, 4, 5]);
    const x = tf.tensor4d(rand(2 * 6 * 6 * 4, 12, -1, 1), [2, 6, 6, 4]);
    const y1 = tf.conv2d(x, w, 1, 'same');
    // the filter now lives in [Cout, kh, kw, Cin] memory: reading it gives the same values
    assert.deepEqual(Array.from(w.dataSync()), Array.from(Float32Array.from(wv)));
    const y2 = tf.conv2d(x, w, 1, 'same');
    assert.deepEqual(Array.from(y2.dataSync()), Array.from(y1.dataSync()));
    // the filter gradient and an SGD step on the re-laid-out filter give the values of a plain one
    const dy = tf.onesLike(y1);
    const dw = tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 5] },
      );
    const b = tf.zerosLike(w);
    // (computed first: nothing else holds w, so the step below writes into it)
    const plain = tf.sub(w, tf.mul(tf.add(dw, tf.mul(w, 0.01)), 0.1));
    const [p1] = tf
      .engine()
      .runKernel(
        'StcSgdStep',
        { p: w, b, grad: dw },
        { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: false },
      );
    assert.equal(p1.dataId, w.dataId, 'the re-laid-out filter is updated in place');
    assert.ok(maxRelDiff(plain.dataSync(), p1.dataSync()) <= 1e-6);
    tf.dispose([w, x, y1, y2, dy, dw, b, p1, plain]);
  },
);
