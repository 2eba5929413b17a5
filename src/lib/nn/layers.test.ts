import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { residualAdd } from './layers.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('residualAdd: a + b, and dy for both inputs (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 3, maxLength: 3 }),
      (a, b, dy) => {
        const [y, ga, gb, ref] = tf.tidy(() => {
          const ta = tf.tensor1d(a);
          const tb = tf.tensor1d(b);
          const probe = tf.tensor1d(dy);
          const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(residualAdd(p, q), probe)))(
            [ta, tb],
          );
          return [residualAdd(ta, tb), da, db, tf.add(ta, tb)].map((t) => Array.from(t.dataSync()));
        });
        assert.deepEqual(y, ref);
        assert.deepEqual(ga, Array.from(Float32Array.from(dy)));
        assert.deepEqual(gb, Array.from(Float32Array.from(dy)));
      },
    ),
    { numRuns: 50 },
  );
});

test('residualAdd rejects tensors of different shapes (no broadcasting)', () => {
  tf.tidy(() => {
    assert.throws(() => residualAdd(tf.zeros([2, 3]), tf.zeros([3])), /shapes \[2,3\] and \[3\] differ/);
  });
});
