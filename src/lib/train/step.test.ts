/** The gradient check's squared norms (`StcSquaredNorm`) on the test backend. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { squaredNorms } from './step.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('squaredNorms: sum of squares per tensor, NaN and Infinity kept, overflow to Infinity', () => {
  const ts = [
    tf.tensor([3, -4]),
    tf.tensor([[1, NaN]]),
    tf.tensor([Infinity, 0]),
    tf.tensor([1e20, 1e20]),
    tf.scalar(2),
  ];
  const n = squaredNorms(ts);
  assert.deepEqual(Array.from(n.slice(0, 1)), [25]);
  assert.ok(Number.isNaN(n[1]), 'NaN');
  assert.equal(n[2], Infinity);
  assert.equal(n[3], Infinity, '2e40 overflows float32');
  assert.equal(n[4], 4);
  tf.dispose(ts);
});

test('squaredNorms agrees with sum(square(x)) to float32 summation order (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 300 }),
      (xs) => {
        const x = tf.tensor(xs);
        const [got] = squaredNorms([x]);
        const want = xs.reduce((a, v) => a + Math.fround(v) * Math.fround(v), 0);
        x.dispose();
        return Math.abs(got - want) <= 1e-5 * Math.max(1, want);
      },
    ),
    { numRuns: 50 },
  );
});
