/**
 * The fused STC and batch-norm kernels against reference implementations written here from
 * docs/semantics.md §1 (the recurrence in float64, as stcsnn's JavaScript kernels run it) and the
 * batch-norm equations of stcsnn's src/lib/core/kernels/batch-norm.ts (with TensorFlow.js ops on the cpu backend).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxRelDiff, rand, setup, skipReason, testDevice, tf } from './helpers.js';

/** theta(t) = theta0 exp(-t / tau) */
const expSchedule = (theta0, tau, T) => Array.from({ length: T }, (_, t) => theta0 * Math.exp(-t / tau));

/** The recurrence of docs/semantics.md §1 per element: [q, count, spikes (T x n)]. */
function reference(x, th, strict) {
  const n = x.length;
  const T = th.length;
  const q = new Float32Array(n);
  const c = new Float32Array(n);
  const s = new Float32Array(T * n);
  for (let i = 0; i < n; i++) {
    let v = x[i];
    let acc = 0;
    for (let t = 0; t < T; t++) {
      if (strict ? v > th[t] : v >= th[t]) {
        v -= th[t];
        acc += th[t];
        c[i]++;
        s[t * n + i] = 1;
      }
    }
    q[i] = acc;
  }
  return { q, c, s };
}

const cases = [
  { name: 'exp schedule (theta0 0.8, tau 2, T 8), >=', th: expSchedule(0.8, 2, 8), strict: false },
  { name: 'geometric schedule (theta0 1, tau 2, T 4), >', th: [1, 0.5, 0.25, 0.125], strict: true },
  { name: 'T = 1', th: [0.5], strict: false },
];

for (const c of cases) {
  test(`StcQuantize/StcEncode/StcSpikeCount agree bit for bit: ${c.name}`, { skip: skipReason }, async () => {
    await setup();
    await tf.setBackend('libtorch');
    const shape = [3, 5, 7, 11];
    const n = 3 * 5 * 7 * 11;
    const vals = rand(n, 5, -1, 4);
    // exact thresholds and their neighbours, where >= and > differ
    vals[0] = c.th[0];
    vals[1] = Math.fround(c.th[0]);
    vals[2] = 0;
    vals[3] = NaN;
    const ref = reference(vals, c.th, c.strict);
    const x = tf.tensor(vals, shape);
    const attrs = { thresholds: c.th, strict: c.strict };
    const q = tf.engine().runKernel('StcQuantize', { x }, attrs);
    const s = tf.engine().runKernel('StcEncode', { x }, attrs);
    const k = tf.engine().runKernel('StcSpikeCount', { x }, attrs);
    assert.deepEqual(q.shape, shape);
    assert.deepEqual(s.shape, [c.th.length, ...shape]);
    assert.deepEqual(Array.from(q.dataSync()), Array.from(ref.q));
    assert.deepEqual(Array.from(s.dataSync()), Array.from(ref.s));
    assert.deepEqual(Array.from(k.dataSync()), Array.from(ref.c));
    tf.dispose([x, q, s, k]);
  });
}

test('StcQuantizeGrad is dy * 1[x > 0]', { skip: skipReason }, async () => {
  await setup();
  await tf.setBackend('libtorch');
  const xv = rand(1000, 7, -1, 1);
  xv[0] = 0;
  const dyv = rand(1000, 8, -2, 2);
  const x = tf.tensor(xv);
  const dy = tf.tensor(dyv);
  const g = tf.engine().runKernel('StcQuantizeGrad', { dy, x });
  const want = Array.from(xv, (v, i) => (v > 0 ? dyv[i] : 0));
  assert.deepEqual(Array.from(g.dataSync()), want);
  tf.dispose([x, dy, g]);
});

test(
  'StcQuantizeGrad with an upper bound is dy * 1[0 < x < upper] (the clipped gradient)',
  { skip: skipReason },
  async () => {
    await setup();
    await tf.setBackend('libtorch');
    const upper = Math.fround(1.25);
    const xv = rand(1000, 9, -1, 3);
    xv[0] = 0;
    xv[1] = upper;
    const dyv = rand(1000, 10, -2, 2);
    const x = tf.tensor(xv);
    const dy = tf.tensor(dyv);
    const g = tf.engine().runKernel('StcQuantizeGrad', { dy, x }, { upper });
    const want = Array.from(xv, (v, i) => (v > 0 && v < upper ? dyv[i] : 0));
    assert.deepEqual(Array.from(g.dataSync()), want);
    const unbounded = tf.engine().runKernel('StcQuantizeGrad', { dy, x }, { upper: Infinity });
    assert.deepEqual(
      Array.from(unbounded.dataSync()),
      Array.from(xv, (v, i) => (v > 0 ? dyv[i] : 0)),
    );
    tf.dispose([x, dy, g, unbounded]);
  },
);

/** Batch norm over all axes but the last, with TensorFlow.js ops (the reference). */
function bnOps(x, gamma, beta, eps, dy) {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const m = x.size / x.shape[x.rank - 1];
  const mean = tf.mean(x, axes);
  const centered = tf.sub(x, mean);
  const invstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes), eps));
  const xhat = tf.mul(centered, invstd);
  const y = tf.add(tf.mul(xhat, gamma), beta);
  const dbeta = tf.sum(dy, axes);
  const dgamma = tf.sum(tf.mul(dy, xhat), axes);
  const dx = tf.mul(
    tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(xhat, dgamma)),
    tf.div(tf.mul(gamma, invstd), m),
  );
  return [y, mean, invstd, dx, dgamma, dbeta];
}

for (const shape of [
  [4, 6, 6, 8],
  [16, 10],
]) {
  test(
    `StcBatchNormTrain and its gradient agree with the equations: [${shape}]`,
    { skip: skipReason },
    async () => {
      await setup();
      const c = shape[shape.length - 1];
      const n = shape.reduce((a, b) => a * b, 1);
      const xv = rand(n, 9, -2, 3);
      const dyv = rand(n, 10);
      const gv = rand(c, 11, 0.5, 1.5);
      const bv = rand(c, 12);
      const outs = {};
      for (const b of ['cpu', 'libtorch']) {
        await tf.setBackend(b);
        const x = tf.tensor(xv, shape);
        const dy = tf.tensor(dyv, shape);
        const gamma = tf.tensor(gv);
        const beta = tf.tensor(bv);
        let r;
        if (b === 'cpu') r = bnOps(x, gamma, beta, 1e-5, dy);
        else {
          const [y, mean, invstd] = tf
            .engine()
            .runKernel('StcBatchNormTrain', { x, gamma, beta }, { eps: 1e-5 });
          const grads = tf.engine().runKernel('StcBatchNormTrainGrad', { dy, x, gamma, mean, invstd });
          r = [y, mean, invstd, ...grads];
        }
        outs[b] = r.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
        tf.dispose([x, dy, gamma, beta, ...r]);
      }
      const names = ['y', 'mean', 'invstd', 'dx', 'dgamma', 'dbeta'];
      names.forEach((name, i) => {
        assert.deepEqual(outs.libtorch[i].shape, outs.cpu[i].shape, `${name} shape`);
        const d = maxRelDiff(outs.cpu[i].values, outs.libtorch[i].values);
        assert.ok(d < 1e-4, `${name}: relative difference ${d}`);
      });
    },
  );
}

for (const opts of [
  { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
  { momentum: 0.9, weightDecay: 0, nesterov: true },
]) {
  test(
    `StcSgdStep agrees with the unfused ops (bit for bit on the CPU), in place and not: ${JSON.stringify(opts)}`,
    { skip: skipReason },
    async () => {
      await setup();
      const n = 3000;
      const pv = rand(n, 21);
      const bv = rand(n, 22, -0.1, 0.1);
      const gv = rand(n, 23);
      const lr = 0.05;
      const out = {};
      for (const be of ['cpu', 'libtorch', 'libtorch-shared']) {
        await tf.setBackend(be === 'cpu' ? 'cpu' : 'libtorch');
        const [p, b, grad] = [pv, bv, gv].map((v) => tf.tensor(v, [30, 100]));
        let r;
        if (be === 'cpu') {
          const g = opts.weightDecay !== 0 ? tf.add(grad, tf.mul(p, opts.weightDecay)) : grad;
          const nb = tf.add(tf.mul(b, opts.momentum), g);
          const d = opts.nesterov ? tf.add(g, tf.mul(nb, opts.momentum)) : nb;
          r = [tf.sub(p, tf.mul(d, lr)), nb];
        } else if (be === 'libtorch') {
          // p and b held by nothing else: updated in place, the outputs are their own data
          r = tf.engine().runKernel('StcSgdStep', { p, b, grad }, { lr, ...opts });
          assert.equal(r[0].dataId, p.dataId, 'in place: p');
          assert.equal(r[1].dataId, b.dataId, 'in place: b');
        } else {
          // a clone of p and a reshaped view of b share their data: new outputs, inputs unchanged
          const pc = tf.clone(p);
          const bv2 = tf.reshape(b, [n]);
          r = tf.engine().runKernel('StcSgdStep', { p, b, grad }, { lr, ...opts });
          assert.notEqual(r[0].dataId, p.dataId, 'shared p: not in place');
          assert.deepEqual(
            Array.from(pc.dataSync()),
            Array.from(Float32Array.from(pv)),
            'the clone of p is unchanged',
          );
          assert.deepEqual(
            Array.from(bv2.dataSync()),
            Array.from(Float32Array.from(bv)),
            'the view of b is unchanged',
          );
          tf.dispose([pc, bv2]);
        }
        out[be] = r.map((t) => Array.from(t.dataSync()));
        tf.dispose([p, b, grad, ...r]);
      }
      for (const be of ['libtorch', 'libtorch-shared']) {
        if (testDevice === 'cpu') {
          assert.deepEqual(out[be][0], out.cpu[0], `${be}: p'`);
          assert.deepEqual(out[be][1], out.cpu[1], `${be}: b'`);
        } else {
          // ATen's GPU kernels may contract a * b + c into one rounding (FMA)
          assert.ok(maxRelDiff(out.cpu[0], out[be][0]) < 1e-6, `${be}: p'`);
          assert.ok(maxRelDiff(out.cpu[1], out[be][1]) < 1e-6, `${be}: b'`);
        }
      }
    },
  );
}

test(
  'StcBatchNormRunning agrees bit for bit with its TensorFlow.js ops on the cpu backend (1 / invstd^2 - eps, unbiased, momentum)',
  { skip: skipReason },
  async () => {
    await setup();
    const c = 37;
    const attrs = { momentum: 0.1, eps: 1e-5, count: 2048 };
    const out = {};
    for (const be of ['cpu', 'libtorch']) {
      await tf.setBackend(be);
      out[be] = tf.tidy(() => {
        const rm = tf.tensor(rand(c, 41), [c]);
        const rv = tf.tensor(rand(c, 42, 0.5, 2), [c]);
        const nbt = tf.scalar(7, 'int32');
        const mean = tf.tensor(rand(c, 43), [c]);
        const invstd = tf.tensor(rand(c, 44, 0.3, 3), [c]);
        let r;
        if (be === 'cpu') {
          const k = attrs.momentum;
          const unbiased = tf.mul(
            tf.sub(tf.reciprocal(tf.square(invstd)), attrs.eps),
            attrs.count / (attrs.count - 1),
          );
          r = [
            tf.add(tf.mul(rm, 1 - k), tf.mul(mean, k)),
            tf.add(tf.mul(rv, 1 - k), tf.mul(unbiased, k)),
            tf.add(nbt, tf.scalar(1, 'int32')),
          ];
        } else {
          r = tf
            .engine()
            .runKernel(
              'StcBatchNormRunning',
              { runningMean: rm, runningVar: rv, numBatchesTracked: nbt, mean, invstd },
              attrs,
            );
        }
        return r.map((t) => ({ dtype: t.dtype, values: Array.from(t.dataSync()) }));
      });
    }
    if (testDevice === 'cpu') assert.deepEqual(out.libtorch, out.cpu);
    else
      out.cpu.forEach((o, i) =>
        assert.ok(maxRelDiff(o.values, out.libtorch[i].values) < 1e-6, `output ${i}`),
      );
    assert.equal(out.libtorch[2].values[0], 8);
  },
);

/**
 * StcQuantizeScaled(Grad) per element, as stcsnn's array kernels compute them (stc-kernels.ts):
 * u = fround(x / theta0), q_1(u) by the recurrence in float64, float32 at each step; the
 * threshold's terms in float32, summed in float64 in element order.
 */
function scaledReference(x, dy, theta, th, strict, upper) {
  const n = x.length;
  const C = theta.length;
  const q = new Float32Array(n);
  const dx = new Float32Array(n);
  const acc = new Float64Array(C);
  const mag = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const c = C === 1 ? 0 : i % C;
    const u = Math.fround(x[i] / theta[c]);
    let v = u;
    let a = 0;
    if (u > 0) {
      for (const h of th) {
        if (strict ? v > h : v >= h) {
          v -= h;
          a += h;
        }
      }
    }
    const q1 = Math.fround(a);
    const inside = u > 0 && u < upper;
    dx[i] = inside ? dy[i] : 0;
    const term = Math.fround(dy[i] * Math.fround(q1 - (inside ? u : 0)));
    acc[c] += term;
    mag[c] += Math.abs(term);
    q[i] = Math.fround(theta[c] * q1);
  }
  return { q, dx, dtheta: Float32Array.from(acc), mag };
}

for (const c of [
  {
    name: 'per channel, several chunks of rows',
    shape: [4, 16, 16, 64],
    perChannel: true,
    strict: false,
    upper: 2.5,
  },
  {
    name: 'per channel, rows across blocks (C 24), >',
    shape: [3, 9, 11, 24],
    perChannel: true,
    strict: true,
    upper: 2.5,
  },
  {
    name: 'per layer, the ReLU mask',
    shape: [5, 7, 7, 13],
    perChannel: false,
    strict: false,
    upper: Infinity,
  },
  {
    name: 'per channel, a linear layer [N, in]',
    shape: [6, 37],
    perChannel: true,
    strict: false,
    upper: 1.7,
  },
]) {
  test(
    `StcQuantizeScaled(Grad): q and dx bit for bit, dtheta0 to float64 summation order: ${c.name}`,
    { skip: skipReason },
    async () => {
      await setup();
      await tf.setBackend('libtorch');
      const n = c.shape.reduce((p, q) => p * q, 1);
      const C = c.perChannel ? c.shape[c.shape.length - 1] : 1;
      const xs = rand(n, 7, -1, 4);
      const dys = rand(n, 8, -1, 1);
      const thetas = rand(C, 9, 0.3, 2);
      xs[0] = thetas[0]; // exactly on theta0 (u = 1 = theta_1(0))
      xs[1] = 0;
      const th = expSchedule(1, 2, 8);
      const ref = scaledReference(xs, dys, thetas, th, c.strict, c.upper);
      const x = tf.tensor(xs, c.shape);
      const dy = tf.tensor(dys, c.shape);
      const theta0 = c.perChannel ? tf.tensor1d(thetas) : tf.scalar(thetas[0]);
      const attrs = { thresholds: th, strict: c.strict, upper: c.upper };
      const q = tf.engine().runKernel('StcQuantizeScaled', { x, theta0 }, attrs);
      const [dx, dtheta, q2] = tf.engine().runKernel('StcQuantizeScaledGrad', { dy, x, theta0 }, attrs);
      assert.deepEqual(q.shape, c.shape);
      assert.deepEqual(dtheta.shape, theta0.shape);
      if (testDevice === 'cpu') {
        assert.deepEqual(Array.from(q.dataSync()), Array.from(ref.q), 'q');
        assert.deepEqual(Array.from(q2.dataSync()), Array.from(ref.q), 'q of the gradient');
        assert.deepEqual(Array.from(dx.dataSync()), Array.from(ref.dx), 'dx');
      } else {
        assert.ok(maxRelDiff(ref.q, q.dataSync()) < 1e-6, 'q');
        assert.ok(maxRelDiff(ref.dx, dx.dataSync()) < 1e-6, 'dx');
      }
      const got = dtheta.dataSync();
      for (let k = 0; k < C; k++)
        assert.ok(
          Math.abs(got[k] - ref.dtheta[k]) <= 1e-6 * (ref.mag[k] + 1e-6),
          `dtheta0[${k}] ${got[k]} vs ${ref.dtheta[k]}`,
        );
      tf.dispose([x, dy, theta0, q, dx, dtheta, q2]);
    },
  );
}
