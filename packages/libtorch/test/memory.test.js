/**
 * Memory: 1,000 training steps of a small STC network (conv, fused batch norm, fused quantiser,
 * conv, global average pool, linear, softmax cross entropy, SGD with momentum) do not grow
 * resident memory beyond warm-up, and leave no native tensor behind. The bound is generous
 * (allocator noise), not a timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rand, setup, cpuOnlyReason, tf } from './helpers.js';
import { libtorchInfo } from '../lib/index.js';

const TH = [0.8, 0.8 * Math.exp(-0.5), 0.8 * Math.exp(-1), 0.8 * Math.exp(-1.5)];

const quantize = tf.customGrad((x, save) => {
  save([x]);
  return {
    value: tf.engine().runKernel('StcQuantize', { x }, { thresholds: TH, strict: false }),
    gradFunc: (dy, [sx]) => tf.engine().runKernel('StcQuantizeGrad', { dy, x: sx }),
  };
});

const batchNorm = tf.customGrad((x, gamma, beta, save) => {
  const [y, mean, invstd] = tf.engine().runKernel('StcBatchNormTrain', { x, gamma, beta }, { eps: 1e-5 });
  save([x, gamma, mean, invstd]);
  return {
    value: y,
    gradFunc: (dy, [sx, sg, sm, si]) =>
      tf.engine().runKernel('StcBatchNormTrainGrad', { dy, x: sx, gamma: sg, mean: sm, invstd: si }),
  };
});

test(
  '1,000 training steps keep resident memory and native tensors flat after warm-up',
  { skip: cpuOnlyReason, timeout: 600_000 },
  async () => {
    await setup();
    await tf.setBackend('libtorch');
    const w1 = tf.variable(tf.tensor4d(rand(3 * 3 * 3 * 8, 1, -0.3, 0.3), [3, 3, 3, 8]));
    const gamma = tf.variable(tf.ones([8]));
    const beta = tf.variable(tf.zeros([8]));
    const w2 = tf.variable(tf.tensor4d(rand(3 * 3 * 8 * 8, 2, -0.1, 0.1), [3, 3, 8, 8]));
    const wl = tf.variable(tf.tensor2d(rand(8 * 10, 3, -0.2, 0.2), [8, 10]));
    const bl = tf.variable(tf.zeros([10]));
    const vars = [w1, gamma, beta, w2, wl, bl];
    const moms = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    const x = tf.tensor4d(rand(8 * 8 * 8 * 3, 4), [8, 8, 8, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
    const pad = [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ];

    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const h = batchNorm(tf.conv2d(x, w1, 1, pad), gamma, beta);
        const h2 = tf.conv2d(quantize(h), w2, 2, pad);
        const logits = tf.add(tf.matMul(tf.mean(h2, [1, 2]), wl), bl);
        return tf.losses.softmaxCrossEntropy(labels, logits);
      });
      vars.forEach((v, i) =>
        tf.tidy(() => {
          const g = tf.add(grads[v.name], tf.mul(v, 5e-4));
          const b = tf.add(tf.mul(moms[i], 0.9), g);
          moms[i].assign(b);
          v.assign(tf.sub(v, tf.mul(b, 0.01)));
        }),
      );
      const loss = value.dataSync()[0];
      tf.dispose([value, grads]);
      return loss;
    };

    const rssMb = () => process.memoryUsage().rss / 2 ** 20;
    let first = 0;
    for (let i = 0; i < 100; i++) first = i === 0 ? step() : (step(), first);
    const tensors = tf.memory().numTensors;
    const live = libtorchInfo().liveTensors;
    const warm = rssMb();
    let last = 0;
    for (let i = 0; i < Number(process.env.MEM_STEPS ?? 1000); i++) last = step();
    const after = rssMb();
    assert.ok(Number.isFinite(last) && last < first, `training makes progress: loss ${first} -> ${last}`);
    assert.equal(tf.memory().numTensors, tensors, 'TensorFlow.js tensors after 1,000 steps');
    assert.equal(libtorchInfo().liveTensors, live, 'native tensors after 1,000 steps');
    assert.ok(
      after - warm < 64,
      `resident memory grew ${(after - warm).toFixed(1)} MB over 1,000 steps (warm-up ${warm.toFixed(0)} MB)`,
    );
    tf.dispose([...vars, ...moms, x, labels]);
  },
);
