import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { gradientUpper, saturation, stcConfig, thresholds, unitConfig } from './config.js';
import { runKernel } from './kernels/array-kernel.js';
import { quantizeScaledGradOps, quantizeScaledOps } from './kernels/stc-kernels.js';
import { encodeScalar, stcQuantize } from './stc.js';
import {
  conv2d,
  explicitPad,
  reluConv2d,
  reluLinear,
  stcConv2d,
  stcConv2dLearned,
  stcLinear,
  stcLinearLearned,
  type Conv2dGeometry,
} from './stcb.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

function maxRelErr(
  a: Float32Array | Int32Array | Uint8Array,
  b: Float32Array | Int32Array | Uint8Array,
): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err / scale;
}

const geomArb = fc.constantFrom<Conv2dGeometry & { k: number }>(
  { k: 3, stride: 1, pad: 1 },
  { k: 3, stride: 2, pad: 1 },
  { k: 1, stride: 2, pad: 0 },
  { k: 1, stride: 1, pad: 0 },
);

const caseArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 3, max: 9 }),
  w: fc.integer({ min: 3, max: 9 }),
  cin: fc.integer({ min: 1, max: 5 }),
  cout: fc.integer({ min: 1, max: 5 }),
  g: geomArb,
  T: fc.integer({ min: 1, max: 10 }),
  theta0: fc.double({ min: 0.2, max: 2, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('STCB conv2d', () => {
  test('spike-train path equals fused path (rel. error <= 1e-5)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const cfg = stcConfig({ T: c.T, theta0: c.theta0 });
        const [a, b] = tf.tidy(() => {
          const x = tf.randomNormal([c.n, c.h, c.w, c.cin], 0.5, 1, 'float32', c.seed) as tf.Tensor4D;
          const w = tf.randomNormal(
            [c.g.k, c.g.k, c.cin, c.cout],
            0,
            1,
            'float32',
            c.seed + 1,
          ) as tf.Tensor4D;
          return [
            stcConv2d(x, w, cfg, c.g, 'spike-train').dataSync(),
            stcConv2d(x, w, cfg, c.g, 'fused').dataSync(),
          ];
        });
        assert.equal(a.length, b.length);
        assert.ok(maxRelErr(a, b) <= 1e-5, `rel err ${maxRelErr(a, b)}`);
      }),
      { numRuns: 25 },
    );
  });

  test('gradients equal those of ReLU -> Conv at q(x), masked by x > 0, on both paths', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('fused' as const, 'spike-train' as const), (c, path) => {
        const cfg = stcConfig({ T: c.T, theta0: c.theta0 });
        tf.tidy(() => {
          const x = tf.randomNormal([c.n, c.h, c.w, c.cin], 0.3, 1, 'float32', c.seed) as tf.Tensor4D;
          const w = tf.randomNormal(
            [c.g.k, c.g.k, c.cin, c.cout],
            0,
            1,
            'float32',
            c.seed + 1,
          ) as tf.Tensor4D;
          const probe = tf.randomNormal(
            stcConv2d(x, w, cfg, c.g, 'fused').shape,
            0,
            1,
            'float32',
            c.seed + 2,
          );
          const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
            tf.sum(tf.mul(stcConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, cfg, c.g, path), probe)),
          )([x, w]);
          // Explicit composition: conv of ReLU, its gradient evaluated with q(x) in place of relu(x).
          const q = stcQuantize(x, cfg);
          const refW = tf.grad((ww: tf.Tensor) =>
            tf.sum(tf.mul(conv2d(q as tf.Tensor4D, ww as tf.Tensor4D, c.g), probe)),
          )(w);
          const refX = tf.mul(
            tf.grad((qq: tf.Tensor) => tf.sum(tf.mul(conv2d(qq as tf.Tensor4D, w, c.g), probe)))(q),
            tf.cast(tf.greater(x, 0), 'float32'),
          );
          assert.ok(maxRelErr(gw.dataSync(), refW.dataSync()) <= 1e-5, 'weight gradient');
          assert.ok(maxRelErr(gx.dataSync(), refX.dataSync()) <= 1e-5, 'input gradient');
          // The mask is the ReLU's: zero gradient wherever x <= 0.
          const xv = x.dataSync();
          const gxv = gx.dataSync();
          for (let i = 0; i < xv.length; i++) if (xv[i] <= 0) assert.equal(gxv[i], 0);
        });
      }),
      { numRuns: 20 },
    );
  });
});

describe('STCB linear', () => {
  test('spike-train equals fused, and gradients are those of ReLU -> Linear at q(x)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 1e6 }),
        (n, din, dout, T, seed) => {
          const cfg = stcConfig({ T });
          tf.tidy(() => {
            const x = tf.randomNormal([n, din], 0.4, 1, 'float32', seed) as tf.Tensor2D;
            const w = tf.randomNormal([din, dout], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
            const a = stcLinear(x, w, cfg, 'spike-train').dataSync();
            const b = stcLinear(x, w, cfg, 'fused').dataSync();
            assert.ok(maxRelErr(a, b) <= 1e-5);
            const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
              tf.sum(stcLinear(xx as tf.Tensor2D, ww as tf.Tensor2D, cfg, 'spike-train')),
            )([x, w]);
            const q = stcQuantize(x, cfg) as tf.Tensor2D;
            const ones = tf.ones([n, dout]) as tf.Tensor2D;
            const refW = tf.matMul(q, ones, true, false);
            const refX = tf.mul(tf.matMul(ones, w, false, true), tf.cast(tf.greater(x, 0), 'float32'));
            assert.ok(maxRelErr(gw.dataSync(), refW.dataSync()) <= 1e-5);
            assert.ok(maxRelErr(gx.dataSync(), refX.dataSync()) <= 1e-5);
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('ReLU -> Conv / Linear (the ANN twin)', () => {
  test('values and gradients equal those of conv2d(relu(x), w) and matMul(relu(x), w), bit for bit (0 and -0 alike)', () => {
    /** The values with -0 read as 0 (TensorFlow.js's ReLU gradient multiplies, the mask selects). */
    const vals = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);
    fc.assert(
      fc.property(caseArb, (c) => {
        tf.tidy(() => {
          const x = tf.randomNormal([c.n, c.h, c.w, c.cin], 0.1, 1, 'float32', c.seed) as tf.Tensor4D;
          const w = tf.randomNormal(
            [c.g.k, c.g.k, c.cin, c.cout],
            0,
            1,
            'float32',
            c.seed + 1,
          ) as tf.Tensor4D;
          const y = reluConv2d(x, w, c.g);
          const probe = tf.randomNormal(y.shape, 0, 1, 'float32', c.seed + 2);
          const loss =
            (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) =>
            (xx: tf.Tensor, ww: tf.Tensor): tf.Scalar =>
              tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D), probe));
          const [gx, gw] = tf.grads(loss((a, b) => reluConv2d(a, b, c.g)))([x, w]);
          const [rx, rw] = tf.grads(loss((a, b) => conv2d(tf.relu(a), b, c.g)))([x, w]);
          assert.deepEqual(y.dataSync(), conv2d(tf.relu(x), w, c.g).dataSync(), 'conv values');
          assert.deepEqual(vals(gx), vals(rx), 'conv input gradient');
          assert.deepEqual(vals(gw), vals(rw), 'conv filter gradient');

          const x2 = tf.reshape(x, [c.n, -1]) as tf.Tensor2D;
          const w2 = tf.randomNormal([x2.shape[1], c.cout], 0, 1, 'float32', c.seed + 3) as tf.Tensor2D;
          const lin =
            (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor) =>
            (xx: tf.Tensor, ww: tf.Tensor): tf.Scalar =>
              tf.sum(tf.square(f(xx as tf.Tensor2D, ww as tf.Tensor2D)));
          const [lx, lw] = tf.grads(lin(reluLinear))([x2, w2]);
          const [mx, mw] = tf.grads(lin((a, b) => tf.matMul(tf.relu(a), b)))([x2, w2]);
          assert.deepEqual(
            reluLinear(x2, w2).dataSync(),
            tf.matMul(tf.relu(x2), w2).dataSync(),
            'linear values',
          );
          assert.deepEqual(vals(lx), vals(mx), 'linear input gradient');
          assert.deepEqual(vals(lw), vals(mw), 'linear weight gradient');
        });
      }),
      { numRuns: 20 },
    );
  });
});

describe('learned thresholds (stcLinearLearned, stcConv2dLearned)', () => {
  const learnedArb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 6 }),
    T: fc.integer({ min: 1, max: 10 }),
    tau: fc.double({ min: 1.2, max: 4, noNaN: true }),
    schedule: fc.constantFrom('exp' as const, 'geometric' as const),
    gradient: fc.constantFrom('relu' as const, 'clipped' as const),
    perChannel: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });

  test('the gradient is LSQ/PACT: dL/dtheta0 = sum g (q_1(u) - u m(u)), q_1(u) the finite difference of the recurrence in theta0', () => {
    fc.assert(
      fc.property(learnedArb, (c) => {
        const unit = stcConfig({ T: c.T, tau: c.tau, schedule: c.schedule, gradient: c.gradient, theta0: 1 });
        const S1 = Math.fround(saturation(unit));
        const rnd = mulberry(c.seed);
        const xs = Array.from({ length: c.n * c.d }, () => (rnd() - 0.3) * 5);
        const cs = Array.from({ length: c.n * c.d }, () => rnd() * 2 - 1);
        const th = Array.from({ length: c.perChannel ? c.d : 1 }, () => 0.3 + rnd() * 1.7);
        const thOf = (i: number) => (c.perChannel ? th[i % c.d] : th[0]);
        // y = (I theta0) q_1(x / theta0) = q(x; theta0) elementwise; L = sum c y
        const { value, grads } = tf.tidy(() => {
          const x = tf.tensor2d(xs, [c.n, c.d]);
          const theta0 = c.perChannel ? tf.tensor1d(th) : tf.scalar(th[0]);
          const w = tf.eye(c.d) as tf.Tensor2D;
          const f = (xv: tf.Tensor, tv: tf.Tensor) =>
            tf.sum(tf.mul(stcLinearLearned(xv as tf.Tensor2D, w, tv, unit), tf.tensor2d(cs, [c.n, c.d])));
          const vg = tf.valueAndGrads(f)([x, theta0]);
          return { value: vg.value.dataSync()[0], grads: vg.grads.map((t) => Array.from(t.dataSync())) };
        });
        const [gx, gth] = grads;
        const expTh = new Array<number>(th.length).fill(0);
        let expValue = 0;
        xs.forEach((xv, i) => {
          const t0 = thOf(i);
          const cfgAt = (t: number) => stcConfig({ ...unit, theta0: t });
          const h = 1e-7 * t0;
          const lo = encodeScalar(xv, cfgAt(t0 - h));
          const hi = encodeScalar(xv, cfgAt(t0 + h));
          if (lo.spikes.join() !== hi.spikes.join()) return; // on a spike boundary: no derivative
          const fd = (hi.decoded - lo.decoded) / (2 * h); // = q_1(u) where the spikes are fixed
          const u = xv / t0;
          const m = u > 0 && (c.gradient === 'relu' || u < S1) ? 1 : 0;
          expTh[c.perChannel ? i % c.d : 0] += cs[i] * (fd - u * m);
          expValue += cs[i] * encodeScalar(xv, cfgAt(t0)).decoded;
          // dL/dx = c m(u) (through u = x / theta0 and the weights W theta0: equal up to float rounding)
          assert.ok(Math.abs(gx[i] - cs[i] * m) <= 1e-6, `dL/dx at ${i}: ${gx[i]} vs ${cs[i] * m}`);
        });
        const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * (1 + Math.abs(b));
        assert.ok(near(value, expValue, 1e-4), `value ${value} vs ${expValue}`);
        // (elements on a boundary were skipped in the expectation: compare only when none was)
        const onBoundary = xs.some((xv, i) => {
          const t0 = thOf(i);
          const h = 1e-7 * t0;
          return (
            encodeScalar(xv, stcConfig({ ...unit, theta0: t0 - h })).spikes.join() !==
            encodeScalar(xv, stcConfig({ ...unit, theta0: t0 + h })).spikes.join()
          );
        });
        if (!onBoundary)
          gth.forEach((g, k) => assert.ok(near(g, expTh[k], 1e-4), `dL/dtheta0[${k}] ${g} vs ${expTh[k]}`));
      }),
      { numRuns: 60 },
    );
  });

  test('equals the fixed-threshold STCB at theta0 (conv, both paths), and theta0 on the weights keeps spikes binary', () => {
    // theta0 a power of two: x / theta0 and theta0 theta_1(t) are then exact in float32, so both
    // fire the same spikes (another theta0 may flip a spike that lies on a threshold by rounding:
    // a CI run found x / 1.488 against 1 deciding otherwise than x against 1.488, T = 1)
    fc.assert(
      fc.property(caseArb, fc.integer({ min: -3, max: 3 }), (arb, k) => {
        const c = { ...arb, theta0: 2 ** k };
        const cfg = stcConfig({ T: c.T, theta0: c.theta0 });
        const unit = unitConfig(cfg);
        const [a, b] = tf.tidy(() => {
          const x = tf.randomNormal([c.n, c.h, c.w, c.cin], 0, 1, 'float32', c.seed) as tf.Tensor4D;
          const w = tf.randomNormal(
            [c.g.k, c.g.k, c.cin, c.cout],
            0,
            0.5,
            'float32',
            c.seed + 1,
          ) as tf.Tensor4D;
          const path = c.seed % 2 === 0 ? 'fused' : 'spike-train';
          return [
            stcConv2d(x, w, cfg, c.g, path).dataSync(),
            stcConv2dLearned(x, w, tf.scalar(c.theta0), unit, c.g, path).dataSync(),
          ];
        });
        // the same spikes (x / theta0 against theta_1(t) vs x against theta0 theta_1(t)) up to
        // float rounding at spike boundaries: compare relatively, loosely
        assert.ok(maxRelErr(b, a) < 1e-3, `rel err ${maxRelErr(b, a)}`);
      }),
      { numRuns: 40 },
    );
  });
});

describe('learned thresholds: the fused kernels against the pure TensorFlow.js reference', () => {
  const fusedArb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    c: fc.integer({ min: 1, max: 9 }),
    T: fc.integer({ min: 1, max: 10 }),
    tau: fc.double({ min: 1.2, max: 4, noNaN: true }),
    schedule: fc.constantFrom('exp' as const, 'geometric' as const),
    fire: fc.constantFrom('>=' as const, '>' as const),
    gradient: fc.constantFrom('relu' as const, 'clipped' as const),
    mode: fc.constantFrom('layer' as const, 'channel' as const),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });

  test('StcQuantizeScaled(Grad) = tf.div, StcQuantize, tf.mul, tf.sum: q and dL/dx bit for bit, dL/dtheta0 to float32 summation (layer and channel)', () => {
    fc.assert(
      fc.property(fusedArb, (c) => {
        const unit = stcConfig({
          T: c.T,
          tau: c.tau,
          schedule: c.schedule,
          fire: c.fire,
          gradient: c.gradient,
          theta0: 1,
        });
        const attrs = { thresholds: thresholds(unit), strict: unit.fire === '>', upper: gradientUpper(unit) };
        const rnd = mulberry(c.seed);
        const shape = [c.n, c.h, c.w, c.c];
        const size = c.n * c.h * c.w * c.c;
        const xs = Array.from({ length: size }, () => (rnd() - 0.3) * 6);
        const dys = Array.from({ length: size }, () => rnd() * 2 - 1);
        const th = Array.from({ length: c.mode === 'channel' ? c.c : 1 }, () => 0.2 + rnd() * 2);
        tf.tidy(() => {
          const x = tf.tensor(xs, shape);
          const dy = tf.tensor(dys, shape);
          const theta0 = c.mode === 'channel' ? tf.tensor1d(th) : tf.scalar(th[0]);
          const quantize = (u: tf.Tensor) => stcQuantize(u, unit);
          const qRef = quantizeScaledOps(x, theta0, quantize);
          const [dxRef, dthRef, q2Ref] = quantizeScaledGradOps(dy, x, theta0, attrs.upper, quantize);
          const q = runKernel('StcQuantizeScaled', { x, theta0 }, attrs);
          const [dx, dth, q2] = runKernel('StcQuantizeScaledGrad', { dy, x, theta0 }, attrs);
          assert.deepEqual(Array.from(q.dataSync()), Array.from(qRef.dataSync()), 'q');
          assert.deepEqual(Array.from(q2.dataSync()), Array.from(q2Ref.dataSync()), 'q of the gradient');
          assert.deepEqual(Array.from(dx.dataSync()), Array.from(dxRef.dataSync()), 'dL/dx');
          assert.deepEqual(dth.shape, theta0.shape);
          // the same float32 terms, summed in another order (float64 in the kernels): within
          // float32 rounding of the sum of their magnitudes
          const u = tf.div(x, theta0);
          const m = tf.logicalAnd(tf.greater(u, 0), tf.less(u, attrs.upper));
          const terms = tf.abs(tf.mul(dy, tf.sub(quantize(u), tf.where(m, u, tf.zerosLike(u)))));
          const axes = c.mode === 'channel' ? [0, 1, 2] : [0, 1, 2, 3];
          const scale = tf.sum(terms, axes).dataSync();
          const [got, want] = [dth.dataSync(), dthRef.dataSync()];
          got.forEach((g, k) =>
            assert.ok(
              Math.abs(g - want[k]) <= 1e-5 * (scale[k] + 1e-6),
              `dL/dtheta0[${k}] ${g} vs ${want[k]}`,
            ),
          );
        });
      }),
      { numRuns: 60 },
    );
  });

  test('stcConv2dLearned (fused kernels) has the value and gradients of the composition with the weights scaled, (W theta0) * q_1(x / theta0)', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.constantFrom('layer' as const, 'channel' as const),
        fc.boolean(),
        (c, mode, clipped) => {
          const unit = stcConfig({ T: c.T, theta0: 1, gradient: clipped ? 'clipped' : 'relu' });
          const rnd = mulberry(c.seed);
          const th = Array.from({ length: mode === 'channel' ? c.cin : 1 }, () => 0.3 + rnd() * 1.5);
          const pad = c.g.pad === 0 ? 'valid' : explicitPad(c.g.pad);
          const [got, want, inputs] = tf.tidy(() => {
            const x = tf.randomNormal([c.n, c.h, c.w, c.cin], 0, 1.5, 'float32', c.seed) as tf.Tensor4D;
            const w = tf.randomNormal(
              [c.g.k, c.g.k, c.cin, c.cout],
              0,
              0.5,
              'float32',
              c.seed + 1,
            ) as tf.Tensor4D;
            const theta0 = mode === 'channel' ? tf.tensor1d(th) : tf.scalar(th[0]);
            const cs = tf.randomNormal(conv2d(x, w, c.g).shape, 0, 1, 'float32', c.seed + 2);
            // the reference: tfjs ops and their gradients, the weights absorbing theta0
            const reference = (xv: tf.Tensor, wv: tf.Tensor, tv: tf.Tensor) => {
              const scale = tv.rank === 0 ? tv : tf.reshape(tv, [1, 1, -1, 1]);
              const u = tf.div(xv, tv);
              const q1 = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
                const [v, save] = args as [tf.Tensor, tf.GradSaveFunc];
                save([v]);
                return {
                  value: stcQuantize(v, unit),
                  gradFunc: (d: tf.Tensor, [sv]: tf.Tensor[]) =>
                    tf.where(
                      tf.logicalAnd(tf.greater(sv, 0), tf.less(sv, gradientUpper(unit))),
                      d,
                      tf.zerosLike(d),
                    ),
                };
              })(u);
              return tf.sum(
                tf.mul(tf.conv2d(q1 as tf.Tensor4D, tf.mul(wv, scale) as tf.Tensor4D, c.g.stride, pad), cs),
              );
            };
            const fused = (xv: tf.Tensor, wv: tf.Tensor, tv: tf.Tensor) =>
              tf.sum(
                tf.mul(stcConv2dLearned(xv as tf.Tensor4D, wv as tf.Tensor4D, tv, unit, c.g, 'fused'), cs),
              );
            const run = (f: typeof fused) => {
              const vg = tf.valueAndGrads(f)([x, w, theta0]);
              return [vg.value, ...vg.grads].map((t) => t.dataSync());
            };
            return [run(fused), run(reference), [x.dataSync(), w.dataSync()]];
          });
          // the value is a sum of terms of both signs of order 1 (unit-variance cotangents), which
          // may nearly cancel (0.00092 seen): its rounding is judged against max(|value|, 1)
          const dv = Math.abs(got[0][0] - want[0][0]);
          assert.ok(
            dv < 1e-4 * Math.max(1, Math.abs(want[0][0])),
            `value: error ${dv} (value ${want[0][0]})`,
          );
          ['dL/dx', 'dL/dw'].forEach((name, k) =>
            assert.ok(
              maxRelErr(got[k + 1], want[k + 1]) < 1e-4,
              `${name}: rel err ${maxRelErr(got[k + 1], want[k + 1])}`,
            ),
          );
          // dL/dtheta0 is a sum of terms of both signs, which may nearly cancel: by the scale
          // equivariance it is (sum W dL/dW - sum x dL/dx) / theta0, so its rounding is judged
          // against the sum of those terms' magnitudes, not against its own size
          const [xs, ws] = inputs;
          let terms = 0;
          for (let i = 0; i < ws.length; i++) terms += Math.abs(ws[i] * want[2][i]);
          for (let i = 0; i < xs.length; i++) terms += Math.abs(xs[i] * want[1][i]);
          terms /= Math.min(...th);
          const err = Math.max(...Array.from(got[3], (v, i) => Math.abs(v - want[3][i])));
          assert.ok(err <= 1e-5 * terms, `dL/dtheta0: error ${err} against terms of magnitude ${terms}`);
        },
      ),
      { numRuns: 30 },
    );
  });
});

/** A small seeded PRNG for test data (mulberry32). */
function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
