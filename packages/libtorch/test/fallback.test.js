/**
 * Kernels without a native implementation: they run on the cpu backend with a one-time warning
 * and a counter, or fail in strict mode. Also the one-line errors for bad requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, skipReason, tf } from './helpers.js';
import { fallbackCounts, registerLibtorchBackend, resetFallbackCounts, setStrict } from '../lib/index.js';

test(
  'a kernel without a native implementation falls back to cpu, warns once and is counted',
  { skip: skipReason },
  async (t) => {
    await setup();
    await tf.setBackend('libtorch');
    setStrict(false);
    resetFallbackCounts();
    const warnings = [];
    t.mock.method(console, 'warn', (m) => warnings.push(String(m)));
    try {
      const x = tf.tensor([1, 2, 3, 4]);
      const a = tf.cumsum(x);
      const b = tf.cumsum(x);
      assert.deepEqual(Array.from(a.dataSync()), [1, 3, 6, 10]);
      assert.equal(fallbackCounts().Cumsum, 2);
      assert.equal(warnings.filter((w) => w.includes('Cumsum')).length, 1);
      // results are libtorch tensors: they take part in native kernels
      assert.deepEqual(Array.from(tf.add(a, b).dataSync()), [2, 6, 12, 20]);
      tf.dispose([x, a, b]);
    } finally {
      setStrict(true);
    }
  },
);

test(
  'a case a native kernel does not serve falls back too (asymmetric avgPool padding)',
  { skip: skipReason },
  async (t) => {
    await setup();
    setStrict(false);
    resetFallbackCounts();
    t.mock.method(console, 'warn', () => {});
    try {
      const vals = Array.from({ length: 25 }, (_, i) => i);
      const out = {};
      for (const b of ['cpu', 'libtorch']) {
        await tf.setBackend(b);
        const x = tf.tensor4d(vals, [1, 5, 5, 1]);
        const y = tf.avgPool(x, 2, 2, 'same');
        out[b] = Array.from(y.dataSync());
        tf.dispose([x, y]);
      }
      assert.deepEqual(out.libtorch, out.cpu);
      assert.equal(fallbackCounts().AvgPool, 1);
    } finally {
      setStrict(true);
    }
  },
);

test('strict mode makes a fallback an error naming the kernel', { skip: skipReason }, async () => {
  await setup();
  await tf.setBackend('libtorch');
  setStrict(true);
  const x = tf.tensor([1, 2, 3]);
  assert.throws(() => tf.cumsum(x), /strict.*Cumsum/);
  tf.dispose(x);
});

test('bad requests give one-line errors', { skip: skipReason }, async () => {
  await setup();
  await assert.rejects(
    registerLibtorchBackend({ threads: 0 }),
    (e) => /threads/.test(e.message) && !e.message.includes('\n'),
  );
  await assert.rejects(
    registerLibtorchBackend({ device: 'tpu' }),
    (e) => /device/.test(e.message) && !e.message.includes('\n'),
  );
});
