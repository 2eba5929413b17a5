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
import { registerAll } from '../../engine/kernels.js';
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
