/**
 * The bf16 autocast on the CPU (`registerLibtorchBackend({ bf16: true })`): convolutions and both
 * their gradients take bfloat16 operands, accumulate in float32 and round the result to bfloat16;
 * results are float32 tensors, and nothing else changes precision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuOnlyReason, rand, setup, tf } from './helpers.js';
import { registerLibtorchBackend } from '../lib/index.js';

/** x rounded to the nearest bfloat16 (ties to even), as a float32 value. */
function toBf16(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000;
  return f[0];
}

async function withPrecision(bf16, fn) {
  await registerLibtorchBackend({ threads: 2, strict: true, bf16 });
  await tf.setBackend('libtorch');
  try {
    return fn();
  } finally {
    await registerLibtorchBackend({ threads: 2, strict: true, bf16: false });
  }
}

test(
  'bf16 on the CPU: convolution and both gradients within bfloat16 tolerance of float32, float32 results',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    const xv = rand(4 * 12 * 12 * 8, 3);
    const wv = rand(3 * 3 * 8 * 16, 4);
    const out = {};
    for (const bf16 of [false, true]) {
      out[String(bf16)] = await withPrecision(bf16, () => {
        const x = tf.tensor4d(xv, [4, 12, 12, 8]);
        const w = tf.tensor4d(wv, [3, 3, 8, 16]);
        const f = (a, k) => tf.sum(tf.square(tf.conv2d(a, k, 1, 'same')));
        const [dx, dw] = tf.grads(f)([x, w]);
        const y = tf.conv2d(x, w, 1, 'same');
        for (const t of [y, dx, dw]) assert.equal(t.dtype, 'float32');
        const r = [y, dx, dw].map((t) => Array.from(t.dataSync()));
        tf.dispose([x, w, dx, dw, y]);
        return r;
      });
    }
    // normwise: a gradient element is a sum of ~150 products and may cancel to near 0
    out.false.forEach((c, i) => {
      const scale = Math.max(...c.map(Math.abs));
      const d = Math.max(...c.map((v, j) => Math.abs(v - out.true[i][j]))) / scale;
      assert.ok(
        d > 0 && d < 2e-2,
        `output ${i}: normwise relative difference ${d} (bf16: 8 bits of mantissa)`,
      );
    });
  },
);

test(
  'bf16 on the CPU: a convolution of spikes is the exact sum rounded once to bfloat16',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    // spikes (0/1) and filters k/64 (|k| < 128) are exact in bfloat16 and every partial sum is exact
    // in float32, so whatever the summation order the result is round_bf16(exact sum)
    const n = 2,
      h = 6,
      c = 16,
      co = 8;
    const sv = Array.from({ length: n * h * h * c }, (_, i) => ((i * 7919) % 5 < 2 ? 1 : 0));
    const wv = Array.from({ length: 3 * 3 * c * co }, (_, i) => (((i * 104729) % 255) - 127) / 64);
    const results = [];
    for (const bf16 of [false, true]) {
      results.push(
        await withPrecision(bf16, () =>
          tf.tidy(() =>
            Array.from(
              tf.conv2d(tf.tensor4d(sv, [n, h, h, c]), tf.tensor4d(wv, [3, 3, c, co]), 1, 'same').dataSync(),
            ),
          ),
        ),
      );
    }
    const [fp32, bf16] = results;
    let rounded = 0;
    fp32.forEach((v, i) => {
      assert.equal(bf16[i], toBf16(v), `element ${i}: ${bf16[i]} is not round_bf16(${v})`);
      if (toBf16(v) !== v) rounded++;
    });
    assert.ok(rounded > 0, 'some sums need more than 8 bits of mantissa (else the test shows nothing)');
  },
);

test(
  'bf16 on the CPU: elementwise ops and matrix products stay float32 (bit for bit)',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    const av = rand(8 * 16, 5);
    const bv = rand(16 * 4, 6);
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor2d(av, [8, 16]);
        const b = tf.tensor2d(bv, [16, 4]);
        return [tf.matMul(a, b), tf.add(tf.mul(a, 1.0001), 1e-4)].map((t) => Array.from(t.dataSync()));
      });
    const fp32 = await withPrecision(false, run);
    const bf16 = await withPrecision(true, run);
    assert.deepEqual(bf16, fp32);
  },
);

test(
  'bf16 on the CPU: the bfloat16 copy of a filter follows it (an in-place SGD step, a new filter in its memory)',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    const X = [2, 6, 6, 8];
    const W = [3, 3, 8, 16];
    const xv = rand(2 * 6 * 6 * 8, 51);
    const wv = rand(3 * 3 * 8 * 16, 52);
    // the reference: a fresh filter tensor each time (no cached copy can apply)
    const fresh = (values) =>
      tf.tidy(() => Array.from(tf.conv2d(tf.tensor4d(xv, X), tf.tensor4d(values, W), 1, 'same').dataSync()));
    await withPrecision(true, () => {
      const x = tf.tensor4d(xv, X);
      const w0 = tf.tensor4d(wv, W);
      const w = tf.variable(w0);
      w0.dispose();
      const conv = () => tf.tidy(() => Array.from(tf.conv2d(x, w, 1, 'same').dataSync()));
      assert.deepEqual(conv(), fresh(wv));
      assert.deepEqual(conv(), fresh(wv), 'the cached copy gives the same result');
      const b0 = tf.zerosLike(w);
      const b = tf.variable(b0);
      b0.dispose();
      const g = tf.onesLike(w);
      const [np, nb] = tf
        .engine()
        .runKernel(
          'StcSgdStep',
          { p: w, b, grad: g },
          { lr: 0.25, momentum: 0, weightDecay: 0, nesterov: false },
        );
      assert.equal(np.dataId, w.dataId, 'the step ran in place');
      tf.dispose([np, nb, g]);
      const stepped = Float32Array.from(wv, (v) => Math.fround(v - 0.25));
      assert.deepEqual(conv(), fresh(stepped), 'after the in-place step: the new values');
      w.dispose();
      b.dispose();
      const wv2 = rand(3 * 3 * 8 * 16, 53);
      const w2 = tf.tensor4d(wv2, W);
      const again = tf.tidy(() => Array.from(tf.conv2d(x, w2, 1, 'same').dataSync()));
      assert.deepEqual(again, fresh(wv2), 'a new filter: its own values');
      tf.dispose([x, w2]);
    });
  },
);

/** TensorFlow.js's padding for PyTorch's symmetric zero padding p. */
function tfPad(p) {
  return p === 0
    ? 'valid'
    : [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ];
}

/**
 * StcConv2DBackward's reference: the four kernels it fuses, one after the other (stcsnn's
 * src/lib/core/kernels/stc-conv.ts).
 */
function conv2dBackwardComposite(dy, x, w, a) {
  const pad = tfPad(a.pad);
  const conv = { strides: [a.stride, a.stride], pad, dataFormat: 'NHWC' };
  const act = a.relu ? tf.relu(x) : tf.engine().runKernel('StcQuantize', { x }, a);
  const da = tf
    .engine()
    .runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: x.shape });
  const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: act, dy }, { ...conv, filterShape: w.shape });
  return [tf.engine().runKernel('StcQuantizeGrad', { dy: da, x }, { upper: a.upper }), dw];
}

for (const bf16 of [false, true]) {
  test(
    `StcConv2D and StcConv2DBackward are bit for bit the kernels they fuse, one after the other (${bf16 ? 'bf16' : 'fp32'}; q and ReLU, strides 1 and 2, pads 0 and 1)`,
    { skip: cpuOnlyReason },
    async () => {
      await setup();
      const th = [0.8, 0.485, 0.294, 0.178];
      const geos = [
        { stride: 1, pad: 1, n: 2, h: 9, cin: 5, cout: 4 },
        { stride: 2, pad: 1, n: 2, h: 9, cin: 5, cout: 4 },
        { stride: 1, pad: 0, n: 2, h: 9, cin: 5, cout: 4 },
        // a tiny layer: ATen's slow convolution path (it wants a contiguous weight)
        { stride: 1, pad: 1, n: 1, h: 3, cin: 2, cout: 1 },
      ];
      for (const g of geos) {
        for (const act of [
          { thresholds: th, strict: false, upper: 1.757, relu: false },
          { thresholds: th, strict: true, upper: Infinity, relu: false },
          { thresholds: [], strict: false, upper: Infinity, relu: true },
        ]) {
          const { n, h, cin, cout, ...geo } = g;
          const a = { ...act, ...geo };
          const [fused, composite] = await withPrecision(bf16, () =>
            tf.tidy(() => {
              const x = tf.tensor(rand(n * h * h * cin, 31, -1, 2), [n, h, h, cin]);
              const w = tf.tensor(rand(3 * 3 * cin * cout, 32), [3, 3, cin, cout]);
              const ho = Math.floor((h + 2 * g.pad - 3) / g.stride) + 1;
              const dy = tf.tensor(rand(n * ho * ho * cout, 33), [n, ho, ho, cout]);
              const f = tf.engine().runKernel('StcConv2DBackward', { dy, x, w }, a);
              const c = conv2dBackwardComposite(dy, x, w, a);
              if (!a.relu) {
                // the forward value: StcConv2D against StcQuantize then Conv2D
                const pad = tfPad(a.pad);
                f.push(tf.engine().runKernel('StcConv2D', { x, w }, a));
                c.push(tf.conv2d(tf.engine().runKernel('StcQuantize', { x }, a), w, a.stride, pad));
              }
              return [f, c].map((r) => r.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
            }),
          );
          const name = JSON.stringify(a);
          assert.deepEqual(fused[0], composite[0], `dx ${name}`);
          assert.deepEqual(fused[1], composite[1], `dw ${name}`);
          assert.deepEqual(fused[2], composite[2], `y ${name}`);
          assert.ok(
            fused[0].values.some((v) => v !== 0) && fused[1].values.some((v) => v !== 0),
            `non-zero ${name}`,
          );
        }
      }
    },
  );
}
