/**
 * The ops kernels of GPU backends give what the array kernels give: checked on `cpu-ops`, a
 * copy of the cpu backend with every cpu kernel except stcsnn's, and stcsnn's from
 * `registerAll` (which gives a backend other than cpu, wasm and libtorch the ops kernels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../engine/backend.js';
import { registerAll } from '../../engine/kernel-registry.js';
import { runKernel } from './array-kernel.js';
import { stcConfig, type StcConfig } from '../config.js';
import { encode, spikeCounts, stcQuantize } from '../stc.js';

const OPS = 'cpu-ops';
const STCSNN_KERNELS = /^Stc/;

async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

test('STEB, CAB, spike counts and the quantiser gradient: ops kernels = array kernels', async () => {
  await initBackend('cpu');
  if (!tf.findBackendFactory(OPS)) {
    tf.registerBackend(OPS, () => new MathBackendCPU());
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (!STCSNN_KERNELS.test(k.kernelName)) tf.registerKernel({ ...k, backendName: OPS });
    }
    registerAll(OPS);
  }
  const run = (cfg: StcConfig, xs: number[]) => {
    const x = tf.tensor1d(xs);
    const [q, s, c] = [stcQuantize(x, cfg), encode(x, cfg), spikeCounts(x, cfg)].map((t) =>
      Array.from(t.dataSync()),
    );
    const g = Array.from(
      tf
        .grad((v: tf.Tensor) => tf.sum(tf.mul(stcQuantize(v, cfg), 3)))(x)
        .dataSync(),
    );
    return { q, s, c, g };
  };
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        T: fc.integer({ min: 1, max: 12 }),
        theta0: fc.double({ min: 0.1, max: 3, noNaN: true }),
        schedule: fc.constantFrom('exp' as const, 'geometric' as const),
        fire: fc.constantFrom('>=' as const, '>' as const),
        gradient: fc.constantFrom('relu' as const, 'clipped' as const),
      }),
      fc.array(fc.float({ min: -2, max: 8, noNaN: true }), { minLength: 1, maxLength: 16 }),
      async (c, xs) => {
        const cfg = stcConfig({ ...c, tau: 2 });
        const ref = await on('cpu', () => run(cfg, xs));
        const got = await on(OPS, () => run(cfg, xs));
        // float32 subtraction (ops) against float64 (array kernels): a spike may differ only
        // where V(t) lands within rounding of theta(t), which these draws avoid in practice
        assert.deepEqual(got.s, ref.s);
        assert.deepEqual(got.c, ref.c);
        assert.deepEqual(got.g, ref.g);
        got.q.forEach((v, i) => assert.ok(Math.abs(v - ref.q[i]) <= 1e-5 * Math.max(1, Math.abs(ref.q[i]))));
      },
    ),
    { numRuns: 60, seed: 18 },
  );
  await tf.setBackend('cpu');
});

test('learned thresholds (StcQuantizeScaled, StcQuantizeScaledGrad): ops kernels = array kernels', async () => {
  await initBackend('cpu');
  if (!tf.findBackendFactory(OPS)) {
    tf.registerBackend(OPS, () => new MathBackendCPU());
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (!STCSNN_KERNELS.test(k.kernelName)) tf.registerKernel({ ...k, backendName: OPS });
    }
    registerAll(OPS);
  }
  const run = (xs: number[], dys: number[], th: number[], perChannel: boolean, upper: number) => {
    const shape = perChannel ? [xs.length / th.length, th.length] : [xs.length];
    const x = tf.tensor(xs, shape);
    const dy = tf.tensor(dys, shape);
    const theta0 = perChannel ? tf.tensor1d(th) : tf.scalar(th[0]);
    const attrs = { thresholds: [1, 0.6, 0.36, 0.2], upper };
    const q = runKernel('StcQuantizeScaled', { x, theta0 }, attrs);
    const outs = runKernel('StcQuantizeScaledGrad', { dy, x, theta0 }, attrs);
    const r = [q, ...outs].map((t) => Array.from(t.dataSync()));
    tf.dispose([x, dy, theta0, q, ...outs]);
    return r;
  };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      fc.constantFrom(Infinity, 2.16),
      fc.integer({ min: 0, max: 1e6 }),
      async (c, rows, perChannel, upper, seed) => {
        let s = seed + 1;
        const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
        const n = c * rows;
        const xs = Array.from({ length: n }, () => rnd() * 6 - 1);
        const dys = Array.from({ length: n }, () => rnd() * 2 - 1);
        const th = Array.from({ length: perChannel ? c : 1 }, () => 0.3 + rnd() * 1.5);
        const ref = await on('cpu', () => run(xs, dys, th, perChannel, upper));
        const got = await on(OPS, () => run(xs, dys, th, perChannel, upper));
        // float32 recurrence (ops) against float64 (arrays): equal but within rounding of a threshold
        for (const k of [0, 1, 2, 3])
          got[k].forEach((v, i) =>
            assert.ok(
              Math.abs(v - ref[k][i]) <= 1e-5 * Math.max(1, Math.abs(ref[k][i])),
              `output ${k}[${i}]`,
            ),
          );
      },
    ),
    { numRuns: 40, seed: 3 },
  );
  await tf.setBackend('cpu');
});
