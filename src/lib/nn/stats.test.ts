/**
 * The spike-statistics recorder against direct counts over the same inputs: spikes (the STEB
 * recurrence per element), saturated inputs (`x >= S` in float32), the histogram and the range,
 * accumulated over batches.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { saturation, stcConfig } from '../core/config.js';
import { encodeScalar } from '../core/stc.js';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { HIST_BINS, SpikeStatsRecorder, saturatedFraction } from './stats.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('recorded statistics equal direct counts over the batches', () => {
  fc.assert(
    fc.property(
      fc.record({
        T: fc.integer({ min: 1, max: 12 }),
        theta0: fc.double({ min: 0.1, max: 4, noNaN: true }),
        tau: fc.double({ min: 1.2, max: 4, noNaN: true }),
        schedule: fc.constantFrom('exp' as const, 'geometric' as const),
      }),
      // values on a coarse grid (multiples of 1/8) keep float32 and float64 comparisons equal
      fc.array(fc.array(fc.integer({ min: -80, max: 120 }), { minLength: 6, maxLength: 6 }), {
        minLength: 1,
        maxLength: 3,
      }),
      (input, batches) => {
        const cfg = stcConfig(input);
        const S = Math.fround(saturation(cfg));
        const rec = new SpikeStatsRecorder();
        const all: number[] = [];
        for (const b of batches) {
          const xs = b.map((k) => k / 8);
          all.push(...xs);
          const x = tf.tensor2d(xs, [2, 3]);
          rec.record('layer', x, cfg);
          x.dispose();
        }
        const [s] = rec.result();
        assert.equal(s.samples, 2 * batches.length);
        assert.equal(s.neurons, 3);
        assert.equal(s.saturated, all.filter((v) => v >= S).length);
        assert.equal(saturatedFraction(s), all.filter((v) => v >= S).length / all.length);
        // the float64 reference recurrence (grid inputs sit on no threshold's float32 edge)
        const direct = all.reduce((a, v) => a + encodeScalar(v, cfg).spikes.reduce((x, y) => x + y, 0), 0);
        assert.equal(s.spikes, direct);
        assert.equal(
          s.histogram.counts.reduce((a, c) => a + c, 0),
          all.length,
        );
        assert.equal(s.histogram.counts.length, HIST_BINS + 2);
        assert.equal(s.inputMin, Math.min(...all));
        assert.equal(s.inputMax, Math.max(...all));
      },
    ),
    { numRuns: 60 },
  );
});

test('a result without the saturated count (written before it was recorded) has no fraction', () => {
  const [s] = (() => {
    const rec = new SpikeStatsRecorder();
    const x = tf.tensor2d([0.5, 3], [1, 2]);
    rec.record('l', x, stcConfig({ T: 4, theta0: 0.5, tau: 2 }));
    x.dispose();
    return rec.result();
  })();
  const { saturated: _saturated, ...old } = s;
  assert.equal(saturatedFraction(old), null);
  assert.equal(saturatedFraction(s), 0.5);
});
