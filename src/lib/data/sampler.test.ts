import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { shardEpoch, stepsPerEpoch } from './sampler.js';

test('shards are disjoint, cover each global batch and weigh n_r / R', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 17 }),
      fc.integer({ min: 1, max: 6 }),
      (n, b, W) => {
        const order = Uint32Array.from({ length: n }, (_, i) => (i * 7919) % Math.max(n, 1));
        const per = Array.from({ length: W }, (_, r) => shardEpoch(order, b, r, W));
        const steps = stepsPerEpoch(n, b, W);
        for (const s of per) assert.equal(s.length, steps);
        let seen = 0;
        for (let k = 0; k < steps; k++) {
          const idx = per.flatMap((s) => [...s[k].indices]);
          // the ranks' slices, in rank order, are the global batch of one process with batch b*W
          assert.deepEqual(idx, [...order.subarray(k * b * W, k * b * W + idx.length)]);
          const w = per.reduce((a, s) => a + s[k].weight, 0);
          assert.ok(Math.abs(w - 1) < 1e-12);
          for (const s of per) assert.ok(s[k].indices.length >= 1 && s[k].indices.length <= b);
          seen += idx.length;
        }
        // only a remainder smaller than the world size is dropped
        assert.ok(n - seen >= 0 && n - seen < W);
      },
    ),
  );
});

test('world size 1 is the plain batching (last batch short)', () => {
  const order = Uint32Array.from([4, 2, 0, 1, 3]);
  const s = shardEpoch(order, 2, 0, 1);
  assert.deepEqual(
    s.map((x) => [...x.indices]),
    [[4, 2], [0, 1], [3]],
  );
  assert.deepEqual(
    s.map((x) => x.weight),
    [1, 1, 1],
  );
});

test('bad rank is a RangeError', () => {
  assert.throws(() => shardEpoch(new Uint32Array(4), 2, 2, 2), /rank must be in \[0, 2\)/);
});
