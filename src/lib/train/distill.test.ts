/** Distillation's loss against its closed forms, and a distilled step against a plain one. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { checkDistillWeights, distillationLoss, softTargetLoss, type Teacher } from './distill.js';
import { crossEntropy, trainStep } from './step.js';
import { Sgd } from './sgd.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

const logitRows = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.tuple(
    fc.array(fc.array(fc.float({ min: -6, max: 6, noNaN: true }), { minLength: 3, maxLength: 3 }), {
      minLength: n,
      maxLength: n,
    }),
    fc.array(fc.array(fc.float({ min: -6, max: 6, noNaN: true }), { minLength: 3, maxLength: 3 }), {
      minLength: n,
      maxLength: n,
    }),
  ),
);

function softmax(row: number[], tau: number): number[] {
  const m = Math.max(...row.map((v) => v / tau));
  const e = row.map((v) => Math.exp(v / tau - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

test('softTargetLoss is tau^2 KL(softmax(t/tau) || softmax(s/tau)) averaged over rows (property)', () => {
  fc.assert(
    fc.property(logitRows, fc.constantFrom(1, 2, 4), ([s, t], tau) => {
      const got = tf.tidy(() => softTargetLoss(tf.tensor2d(s), tf.tensor2d(t), tau).dataSync()[0]);
      let want = 0;
      s.forEach((row, i) => {
        const p = softmax(t[i], tau);
        const q = softmax(row, tau);
        want += p.reduce((a, pk, k) => a + pk * (Math.log(pk) - Math.log(q[k])), 0);
      });
      want = (want / s.length) * tau * tau;
      return Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want));
    }),
    { numRuns: 60 },
  );
});

test('the soft term is 0 when student and teacher agree, and its gradient is tau (q - p) / N (property)', () => {
  fc.assert(
    fc.property(logitRows, fc.constantFrom(1, 3), ([s, t], tau) => {
      const same = tf.tidy(() => softTargetLoss(tf.tensor2d(t), tf.tensor2d(t), tau).dataSync()[0]);
      if (Math.abs(same) > 1e-5) return false;
      const g = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => softTargetLoss(x as tf.Tensor2D, tf.tensor2d(t), tau))(tf.tensor2d(s))
          .arraySync(),
      ) as number[][];
      return s.every((row, i) => {
        const p = softmax(t[i], tau);
        const q = softmax(row, tau);
        return row.every((_, k) => Math.abs(g[i][k] - (tau * (q[k] - p[k])) / s.length) <= 1e-5);
      });
    }),
    { numRuns: 40 },
  );
});

test('distillationLoss mixes the two terms by alpha, and alpha 0 is the cross-entropy itself', () => {
  tf.tidy(() => {
    const s = tf.tensor2d([
      [1, 2, 0.5],
      [0, -1, 3],
    ]);
    const t = tf.tensor2d([
      [2, 0, 1],
      [1, 1, 1],
    ]);
    const ce = crossEntropy(s, tf.tensor1d([1, 2], 'int32'));
    assert.equal(distillationLoss(ce, s, t, { alpha: 0, temperature: 4 }), ce);
    const kl = softTargetLoss(s, t, 2).dataSync()[0];
    const mixed = distillationLoss(ce, s, t, { alpha: 0.25, temperature: 2 }).dataSync()[0];
    assert.ok(Math.abs(mixed - (0.75 * ce.dataSync()[0] + 0.25 * kl)) < 1e-6);
  });
  assert.throws(
    () => softTargetLoss(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, 1),
    /teacher logits \[2,4\]/,
  );
});

test('checkDistillWeights names the weight out of range', () => {
  assert.throws(
    () => checkDistillWeights({ alpha: 1.5, temperature: 4 }),
    /alpha must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => checkDistillWeights({ alpha: 0.5, temperature: 0 }),
    /temperature must be a positive number, got 0/,
  );
  checkDistillWeights({ alpha: 1, temperature: 0.5 });
});

/** A linear classifier over the flattened image. */
function linear(w: tf.Variable): Teacher {
  return { forward: (x) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D };
}

test('a distilled step: alpha 0 trains as a plain step; alpha 1 moves the student toward the teacher', () => {
  const x = tf.tensor4d([0.5, -1, 2, 0.25, 1, 1, -0.5, 0], [2, 2, 2, 1]);
  const y = tf.tensor1d([0, 2], 'int32');
  const init = tf.tensor2d(
    Array.from({ length: 12 }, (_, i) => ((i * 7) % 5) / 10 - 0.2),
    [4, 3],
  );
  const teacher = linear(
    tf.variable(
      tf.tensor2d(
        Array.from({ length: 12 }, (_, i) => (i % 3) - 1),
        [4, 3],
      ),
    ),
  );
  const train = (distill?: { alpha: number; temperature: number }): tf.Variable => {
    const w = tf.variable(init.clone(), true, `w${Math.random()}`);
    const sgd = new Sgd([w], { momentum: 0, weightDecay: 0, nesterov: false });
    for (let i = 0; i < 3; i++)
      trainStep(linear(w), sgd, x, y, 0.5, distill ? { distill: { teacher, ...distill } } : {});
    return w;
  };
  const plain = train();
  const zero = train({ alpha: 0, temperature: 4 });
  assert.deepEqual(Array.from(zero.dataSync()), Array.from(plain.dataSync()));
  const soft = train({ alpha: 1, temperature: 1 });
  const before = tf.tidy(
    () =>
      softTargetLoss(
        linear(tf.variable(init.clone())).forward(x, { training: false }),
        teacher.forward(x, { training: false }),
        1,
      ).dataSync()[0],
  );
  const after = tf.tidy(
    () =>
      softTargetLoss(
        linear(soft).forward(x, { training: false }),
        teacher.forward(x, { training: false }),
        1,
      ).dataSync()[0],
  );
  assert.ok(after < before, `KL to the teacher ${before} -> ${after}`);
});

test('a distilled step with alpha 0 never runs the teacher', () => {
  const x = tf.tensor4d([0.5, -1, 2, 0.25, 1, 1, -0.5, 0], [2, 2, 2, 1]);
  const y = tf.tensor1d([0, 2], 'int32');
  let calls = 0;
  const teacher: Teacher = {
    forward: () => {
      calls++;
      throw new Error('the teacher ran');
    },
  };
  const w = tf.variable(tf.zeros([4, 3]), true, `w${Math.random()}`);
  const sgd = new Sgd([w], { momentum: 0, weightDecay: 0, nesterov: false });
  const r = trainStep(linear(w), sgd, x, y, 0.5, { distill: { teacher, alpha: 0, temperature: 4 } });
  assert.ok(Number.isFinite(r.loss));
  assert.equal(calls, 0);
  assert.throws(
    () => trainStep(linear(w), sgd, x, y, 0.5, { distill: { teacher, alpha: 0.5, temperature: 4 } }),
    /the teacher ran/,
  );
  assert.equal(calls, 1);
});
