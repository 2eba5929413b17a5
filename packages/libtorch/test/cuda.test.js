/**
 * CUDA: where libtorch has CUDA and a GPU is visible, `device: 'cuda'` runs the kernels on the
 * GPU and agrees with the cpu backend; elsewhere the request fails with a one-line error and
 * the GPU test skips, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxRelDiff, rand, skipReason, tf } from './helpers.js';
import { libtorchAvailability, registerLibtorchBackend } from '../lib/index.js';

const avail = libtorchAvailability();
const noGpu =
  skipReason ??
  (avail.ok && !avail.cuda ? 'no CUDA here: this libtorch has no CUDA or no GPU is visible' : undefined);

test(
  'without CUDA, device cuda is a one-line error saying how to fix it',
  { skip: skipReason ?? (avail.ok && avail.cuda ? 'CUDA is present' : undefined) },
  async () => {
    await assert.rejects(
      registerLibtorchBackend({ device: 'cuda' }),
      (e) => /CUDA/.test(e.message) && /LIBTORCH|device cpu/.test(e.message) && !e.message.includes('\n'),
    );
  },
);

test(
  'conv2d with gradients and the STC kernels on the GPU agree with the cpu backend',
  { skip: noGpu },
  async () => {
    await import('./helpers.js').then((h) => h.setup());
    await registerLibtorchBackend({ device: 'cuda', strict: true });
    const xv = rand(2 * 8 * 8 * 3, 1);
    const wv = rand(3 * 3 * 3 * 4, 2);
    const out = {};
    for (const b of ['cpu', 'libtorch']) {
      await tf.setBackend(b);
      const x = tf.tensor4d(xv, [2, 8, 8, 3]);
      const w = tf.tensor4d(wv, [3, 3, 3, 4]);
      const f = (a, k) => tf.sum(tf.square(tf.conv2d(a, k, 1, 'same')));
      const [dx, dw] = tf.grads(f)([x, w]);
      out[b] = [tf.conv2d(x, w, 1, 'same'), dx, dw].map((t) => Array.from(t.dataSync()));
    }
    out.cpu.forEach((c, i) => assert.ok(maxRelDiff(c, out.libtorch[i]) < 1e-4, `output ${i}`));
    const q = tf
      .engine()
      .runKernel('StcQuantize', { x: tf.tensor([0.9, 0.3, -1]) }, { thresholds: [0.8, 0.4], strict: false });
    assert.deepEqual(Array.from(q.dataSync()), [Math.fround(0.8), 0, 0]);
  },
);

test(
  'bf16 autocast: convolution and both its gradients within bfloat16 tolerance of float32, float32 results',
  { skip: noGpu },
  async () => {
    await import('./helpers.js').then((h) => h.setup());
    const xv = rand(4 * 16 * 16 * 8, 3);
    const wv = rand(3 * 3 * 8 * 16, 4);
    const out = {};
    for (const bf16 of [false, true]) {
      await registerLibtorchBackend({ device: 'cuda', strict: true, bf16 });
      await tf.setBackend('libtorch');
      const x = tf.tensor4d(xv, [4, 16, 16, 8]);
      const w = tf.tensor4d(wv, [3, 3, 8, 16]);
      const f = (a, k) => tf.sum(tf.square(tf.conv2d(a, k, 1, 'same')));
      const [dx, dw] = tf.grads(f)([x, w]);
      const y = tf.conv2d(x, w, 1, 'same');
      for (const t of [y, dx, dw]) assert.equal(t.dtype, 'float32');
      out[String(bf16)] = [y, dx, dw].map((t) => Array.from(t.dataSync()));
      tf.dispose([x, w, dx, dw, y]);
    }
    await registerLibtorchBackend({ device: 'cuda', strict: true, bf16: false });
    out.false.forEach((c, i) => {
      const d = maxRelDiff(c, out.true[i]);
      assert.ok(d > 0 && d < 5e-2, `output ${i}: relative difference ${d} (bf16 has 8 bits of mantissa)`);
    });
  },
);
