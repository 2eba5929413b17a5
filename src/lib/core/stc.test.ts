import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import {
  ConfigError,
  hasErrorBound,
  inputShift,
  saturation,
  stcConfig,
  thresholds,
  type StcConfig,
} from './config.js';
import { decode, encode, encodeScalar, spikeCounts, stcQuantize } from './stc.js';
import { stcConv2d, stcConv2dLearned, stcLinear } from './stcb.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

/** An independent float64 IF simulation (docs/semantics.md §1), written from the recurrence. */
function reference(x: number, cfg: StcConfig): { spikes: number[]; decoded: number } {
  const spikes: number[] = [];
  let v = x;
  for (let t = 0; t < cfg.T; t++) {
    const theta =
      cfg.schedule === 'exp' ? cfg.theta0 * Math.exp(-t / cfg.tau) : cfg.theta0 * Math.pow(cfg.tau, -t);
    const s = (cfg.fire === '>' ? v > theta : v >= theta) ? 1 : 0;
    spikes.push(s);
    v -= s * theta;
  }
  const th = thresholds(cfg);
  return { spikes, decoded: spikes.reduce((a, s, t) => a + s * th[t], 0) };
}

const cfgArb = fc
  .record({
    T: fc.integer({ min: 1, max: 16 }),
    theta0: fc.double({ min: 0.05, max: 8, noNaN: true }),
    tau: fc.double({ min: 1.05, max: 6, noNaN: true }),
    schedule: fc.constantFrom('exp' as const, 'geometric' as const),
    fire: fc.constantFrom('>=' as const, '>' as const),
  })
  .map((c) => stcConfig(c));

describe('config', () => {
  test('paper defaults', () => {
    const c = stcConfig();
    assert.deepEqual(
      { ...c },
      {
        T: 8,
        theta0: 0.8,
        tau: 2,
        schedule: 'exp',
        fire: '>=',
        gradient: 'relu',
        learnTheta: 'off',
        shift: 'none',
      },
    );
  });
  test('thresholds follow the schedules', () => {
    assert.deepEqual(
      thresholds(stcConfig({ T: 3, theta0: 1, tau: 2, schedule: 'geometric' })),
      [1, 0.5, 0.25],
    );
    const e = thresholds(stcConfig({ T: 3, theta0: 0.8, tau: 2 }));
    assert.ok(Math.abs(e[2] - 0.8 * Math.exp(-1)) < 1e-15);
  });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ T: 0 }, /^T must be an integer in 1\.\.64/],
    [{ T: 65 }, /^T must be an integer in 1\.\.64/],
    [{ T: 2.5 }, /^T must be an integer/],
    [{ T: NaN }, /^T must be a finite number/],
    [{ theta0: 0 }, /^theta0 must be > 0/],
    [{ theta0: Infinity }, /^theta0 must be a finite number/],
    [{ tau: 0 }, /^tau must be > 0 for the exp schedule/],
    [{ tau: 1, schedule: 'geometric' }, /^tau must be > 1 for the geometric schedule/],
    [{ schedule: 'linear' }, /^schedule must be one of exp, geometric/],
    [{ fire: '=' }, /^fire must be one of/],
    [{ gradient: 'ste' }, /^gradient must be one of relu, clipped/],
  ];
  for (const [input, re] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => stcConfig(input as never),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
  test('error bound holds for exp and geometric with tau = 2, not for exp with tau = 1', () => {
    assert.equal(hasErrorBound(stcConfig({ tau: 2 })), true);
    assert.equal(hasErrorBound(stcConfig({ tau: 2, schedule: 'geometric' })), true);
    assert.equal(hasErrorBound(stcConfig({ tau: 1, T: 8 })), false);
  });
});

describe('STEB and CAB', () => {
  test('hand-computed trains (theta0 = 1, geometric tau = 2, T = 4: thresholds 1, .5, .25, .125)', () => {
    const cfg = stcConfig({ T: 4, theta0: 1, tau: 2, schedule: 'geometric' });
    assert.deepEqual(encodeScalar(1.5, cfg).spikes, [1, 1, 0, 0]);
    assert.deepEqual(encodeScalar(0.7, cfg).spikes, [0, 1, 0, 1]); // 0.7 -> 0.2 -> 0.075 left
    assert.equal(encodeScalar(0.7, cfg).decoded, 0.625);
    assert.deepEqual(encodeScalar(0.5, cfg).spikes, [0, 1, 0, 0]); // V >= theta fires on equality
    assert.deepEqual(encodeScalar(0.5, stcConfig({ ...cfg, fire: '>' })).spikes, [0, 0, 1, 1]);
    assert.deepEqual(encodeScalar(5, cfg).spikes, [1, 1, 1, 1]); // saturates at 1.875
  });

  test('tensor encode equals the float64 reference recurrence', () => {
    fc.assert(
      fc.property(
        cfgArb,
        fc.array(fc.double({ min: -3, max: 20, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (cfg, xs) => {
          const x32 = Array.from(Float32Array.from(xs));
          const s = tf.tidy(() => tf.transpose(encode(tf.tensor1d(x32), cfg)).arraySync() as number[][]);
          x32.forEach((x, i) => {
            const r = reference(x, cfg);
            // Float32 inputs, float64 membranes: identical except at exact threshold ties.
            assert.deepEqual(s[i], r.spikes, `x=${x}`);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('decoded error < theta(T-1) on [0, sum theta) where the bound holds', () => {
    fc.assert(
      fc.property(
        cfgArb.filter(hasErrorBound),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (cfg, u) => {
          const x = u * saturation(cfg);
          const { decoded } = encodeScalar(x, cfg);
          const th = thresholds(cfg);
          assert.ok(Math.abs(decoded - x) < th[th.length - 1] + 1e-12, `x=${x} decoded=${decoded}`);
          assert.ok(decoded <= x + 1e-12);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('inputs at or above the range saturate at sum theta', () => {
    // with `V >= theta`, exactly sum theta already fires every step
    const atEdge = stcConfig({ T: 4, theta0: 1, tau: 2, schedule: 'geometric' });
    assert.deepEqual(encodeScalar(saturation(atEdge), atEdge).spikes, [1, 1, 1, 1]);
    fc.assert(
      fc.property(cfgArb, fc.double({ min: 1.000001, max: 1000, noNaN: true }), (cfg, k) => {
        const x = saturation(cfg) * k;
        const r = encodeScalar(x, cfg);
        assert.deepEqual(r.spikes, new Array(cfg.T).fill(1));
        assert.ok(Math.abs(r.decoded - saturation(cfg)) < 1e-9);
      }),
      { numRuns: 200 },
    );
  });

  test('negative inputs never spike; q, counts and decode agree on tensors', () => {
    fc.assert(
      fc.property(
        cfgArb,
        fc.array(fc.double({ min: -5, max: 10, noNaN: true }), { minLength: 1, maxLength: 64 }),
        (cfg, xs) => {
          const [spk, dec, q, counts] = tf.tidy(() => {
            const x = tf.tensor1d(xs);
            const s = encode(x, cfg);
            return [
              s.arraySync() as number[][],
              Array.from(decode(s, cfg).dataSync()),
              Array.from(stcQuantize(x, cfg).dataSync()),
              Array.from(spikeCounts(x, cfg).dataSync()),
            ];
          });
          xs.forEach((x, i) => {
            const col = spk.map((row) => row[i]);
            if (x <= 0) assert.ok(col.every((v) => v === 0));
            assert.ok(col.every((v) => v === 0 || v === 1));
            assert.equal(
              counts[i],
              col.reduce((a: number, b) => a + b, 0),
            );
            assert.ok(Math.abs(q[i] - dec[i]) <= 1e-5 * Math.max(1, Math.abs(dec[i])));
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('stcQuantize has the equivalent gradient dy * 1[x > 0]', () => {
    const cfg = stcConfig();
    const xs = [-1, -0.1, 0, 0.05, 0.3, 2, 10];
    const dy = [1, 2, 3, 4, 5, 6, 7];
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((x: tf.Tensor) => tf.sum(tf.mul(stcQuantize(x, cfg), tf.tensor1d(dy))))(tf.tensor1d(xs))
          .dataSync(),
      ),
    );
    assert.deepEqual(g, [0, 0, 0, 4, 5, 6, 7]);
  });

  test('with gradient: clipped, the mask is 1[0 < x < sum theta] (property, both STCB paths agree)', () => {
    fc.assert(
      fc.property(
        cfgArb,
        fc.array(fc.double({ min: -2, max: 3, noNaN: true }), { minLength: 1, maxLength: 24 }),
        (c, units) => {
          const cfg = stcConfig({ ...c, gradient: 'clipped' });
          const S = Math.fround(saturation(cfg));
          // inputs spread over [-2S, 3S], plus the exact edges 0 and S
          const xs = Float32Array.from([...units.map((u) => u * S), 0, S]);
          const dy = Float32Array.from(xs, (_, i) => i + 1);
          const [g, gw] = tf.tidy(() => {
            const x = tf.tensor1d(xs);
            const probe = tf.tensor1d(dy);
            const fused = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stcQuantize(v, cfg), probe)))(x);
            // the spike-train STCB (identity weight) must carry the same mask
            const w = tf.eye(xs.length) as tf.Tensor2D;
            const train = tf.grad((v: tf.Tensor) =>
              tf.sum(
                tf.mul(stcLinear(tf.reshape(v, [1, xs.length]) as tf.Tensor2D, w, cfg, 'spike-train'), probe),
              ),
            )(x);
            return [Array.from(fused.dataSync()), Array.from(train.dataSync())];
          });
          const want = Array.from(xs, (x, i) => (x > 0 && x < S ? dy[i] : 0));
          assert.deepEqual(g, want);
          assert.deepEqual(gw, want);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('shift half: the membrane starts half the last threshold up', () => {
  test('q, spikes and counts of x are those of x + theta(T-1)/2 without the shift, bit for bit (property)', () => {
    fc.assert(
      fc.property(
        cfgArb,
        fc.array(fc.double({ min: -2, max: 3, noNaN: true }), { minLength: 1, maxLength: 24 }),
        (c, units) => {
          const half = stcConfig({ ...c, shift: 'half' });
          const none = stcConfig({ ...c, shift: 'none' });
          const S = saturation(none);
          const xs = Float32Array.from(units, (u) => u * S);
          const c0 = Math.fround(inputShift(half));
          assert.equal(inputShift(none), 0);
          assert.ok(Math.abs(inputShift(half) - thresholds(half)[half.T - 1] / 2) <= 1e-15 * S);
          tf.tidy(() => {
            const x = tf.tensor1d(xs);
            const moved = tf.add(x, tf.scalar(c0));
            assert.deepEqual(
              Array.from(stcQuantize(x, half).dataSync()),
              Array.from(stcQuantize(moved, none).dataSync()),
            );
            assert.deepEqual(
              Array.from(encode(x, half).dataSync()),
              Array.from(encode(moved, none).dataSync()),
            );
            assert.deepEqual(
              Array.from(spikeCounts(x, half).dataSync()),
              Array.from(spikeCounts(moved, none).dataSync()),
            );
          });
          // the scalar reference too (float64: the shift added exactly)
          for (const v of units.slice(0, 4).map((u) => u * S)) {
            assert.deepEqual(encodeScalar(v, half).spikes, encodeScalar(v + inputShift(half), none).spikes);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  test('it rounds to the nearest level: |q(x) - x| <= theta(T-1)/2 where the error bound holds, and x <= 0 never fires', () => {
    fc.assert(
      fc.property(cfgArb, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (c, u) => {
        const cfg = stcConfig({ ...c, shift: 'half' });
        if (!hasErrorBound(cfg)) return;
        const th = thresholds(cfg);
        const half = th[cfg.T - 1] / 2;
        const x = u * (saturation(cfg) - half);
        const r = encodeScalar(x, cfg);
        assert.ok(
          Math.abs(r.decoded - x) <= half * (1 + 1e-9) + 1e-12,
          `x ${x}: q ${r.decoded}, half step ${half}`,
        );
        assert.deepEqual(encodeScalar(-u * half, cfg).spikes, new Array(cfg.T).fill(0));
      }),
      { numRuns: 200 },
    );
  });

  test('STCBs: both paths agree, and the clipped mask sees the shifted membrane, 1[0 < x + c < S] (conv, linear, learned)', () => {
    const cfg = stcConfig({
      T: 4,
      theta0: 1,
      tau: 2,
      schedule: 'geometric',
      gradient: 'clipped',
      shift: 'half',
    });
    const c0 = Math.fround(inputShift(cfg));
    const S = Math.fround(saturation(cfg));
    const xs = Float32Array.from([-0.2, -c0 * 0.9, -c0, 0, 0.03, 0.4, S - c0 - 0.01, S - c0, S, 2.5]);
    const probe = Float32Array.from(xs, (_, i) => i + 1);
    const want = Array.from(xs, (x, i) =>
      Math.fround(x + c0) > 0 && Math.fround(x + c0) < S ? probe[i] : 0,
    );
    tf.tidy(() => {
      const x = tf.tensor1d(xs);
      const p = tf.tensor1d(probe);
      const w = tf.eye(xs.length) as tf.Tensor2D;
      for (const path of ['fused', 'spike-train'] as const) {
        const f = (v: tf.Tensor) =>
          tf.sum(tf.mul(stcLinear(tf.reshape(v, [1, xs.length]) as tf.Tensor2D, w, cfg, path), p));
        assert.deepEqual(Array.from(tf.grad(f)(x).dataSync()), want, path);
      }
      // conv: both paths, the learned thresholds at theta0 = 1 equal the fixed ones
      const x4 = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const w4 = tf.randomNormal([3, 3, 3, 4], 0, 0.3, 'float32', 8) as tf.Tensor4D;
      const g = { stride: 1, pad: 1 };
      const fused = stcConv2d(x4, w4, cfg, g, 'fused').dataSync();
      const train = stcConv2d(x4, w4, cfg, g, 'spike-train').dataSync();
      const learned = stcConv2dLearned(x4, w4, tf.scalar(1), cfg, g, 'fused').dataSync();
      const learnedTrain = stcConv2dLearned(x4, w4, tf.tensor1d([1, 1, 1]), cfg, g, 'spike-train').dataSync();
      for (const other of [train, learned, learnedTrain])
        fused.forEach((v, i) =>
          assert.ok(Math.abs(v - other[i]) <= 1e-5 * (1 + Math.abs(v)), `${v} vs ${other[i]}`),
        );
      // and the shift changes the value (the test would pass with no shift otherwise)
      const plain = stcConv2d(x4, w4, stcConfig({ ...cfg, shift: 'none' }), g, 'fused').dataSync();
      assert.ok(plain.some((v, i) => v !== fused[i]));
    });
  });

  test('learned thresholds: the shift moves with theta0 (x + theta0 c_1), the value that of the fixed STCB at theta0', () => {
    const unit = stcConfig({
      T: 4,
      theta0: 1,
      tau: 2,
      gradient: 'clipped',
      learnTheta: 'layer',
      shift: 'half',
    });
    const x4 = tf.randomNormal([2, 4, 4, 2], 0.5, 1, 'float32', 9) as tf.Tensor4D;
    const w4 = tf.randomNormal([3, 3, 2, 3], 0, 0.3, 'float32', 10) as tf.Tensor4D;
    const g = { stride: 1, pad: 1 };
    const theta0 = 0.7;
    // the value at theta0 equals the fixed-threshold STCB with theta0 (its shift theta(T-1)/2 scales too)
    const fixed = stcConfig({ ...unit, theta0, learnTheta: 'off' });
    const a = stcConv2dLearned(x4, w4, tf.scalar(theta0), unit, g, 'fused').dataSync();
    const b = stcConv2d(x4, w4, fixed, g, 'fused').dataSync();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-4 * (1 + Math.abs(v)), `${v} vs ${b[i]}`));
    tf.dispose([x4, w4]);
  });
});
