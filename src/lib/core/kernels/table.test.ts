import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../../engine/backend.js';
import { kernelConfigs } from '../../engine/kernel-registry.js';
import { ARRAY_BACKENDS, runKernel, type KernelInputs } from './array-kernel.js';
import {
  KERNELS,
  KERNEL_NAMES,
  isKernelName,
  readAttrs,
  type KernelCallAttrs,
  type KernelName,
} from './table.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

/** One call of every kernel: small inputs of consistent shapes and every attribute. */
const calls: { [N in KernelName]: { inputs: () => KernelInputs<N>; attrs: KernelCallAttrs<N> } } = {
  StcQuantize: { inputs: () => ({ x: tf.tensor([0.9, 0.3, -1]) }), attrs: { thresholds: [0.8, 0.4] } },
  StcQuantizeGrad: { inputs: () => ({ dy: tf.tensor([1, 2, 3]), x: tf.tensor([0.9, 0.3, -1]) }), attrs: {} },
  StcQuantizeScaled: {
    inputs: () => ({ x: tf.tensor([0.9, 0.3, -1, 2], [2, 2]), theta0: tf.tensor([0.8, 1.5]) }),
    attrs: { thresholds: [1, 0.5] },
  },
  StcQuantizeScaledGrad: {
    inputs: () => ({
      dy: tf.tensor([1, 2, 3, 4], [2, 2]),
      x: tf.tensor([0.9, 0.3, -1, 2], [2, 2]),
      theta0: tf.scalar(0.8),
    }),
    attrs: { thresholds: [1, 0.5], upper: 1.5 },
  },
  StcEncode: {
    inputs: () => ({ x: tf.tensor([0.9, 0.3, -1]) }),
    attrs: { thresholds: [0.8, 0.4], strict: true },
  },
  StcSpikeCount: { inputs: () => ({ x: tf.tensor([0.9, 0.3, -1]) }), attrs: { thresholds: [0.8, 0.4] } },
  StcBatchNormTrain: {
    inputs: () => ({ x: tf.tensor([1, 2, 3, 5], [2, 2]), gamma: tf.ones([2]), beta: tf.zeros([2]) }),
    attrs: { eps: 1e-5 },
  },
  StcBatchNormTrainGrad: {
    inputs: () => ({
      dy: tf.ones([2, 2]),
      x: tf.tensor([1, 2, 3, 5], [2, 2]),
      gamma: tf.ones([2]),
      mean: tf.tensor([2, 3.5]),
      invstd: tf.ones([2]),
    }),
    attrs: {},
  },
  StcConv2D: {
    inputs: () => ({ x: tf.tensor([0.9, 0.3, -1, 2], [1, 2, 2, 1]), w: tf.ones([3, 3, 1, 1]) }),
    attrs: { thresholds: [1, 0.5], stride: 1, pad: 1 },
  },
  StcConv2DBackward: {
    inputs: () => ({
      dy: tf.ones([1, 2, 2, 1]),
      x: tf.tensor([0.9, 0.3, -1, 2], [1, 2, 2, 1]),
      w: tf.ones([3, 3, 1, 1]),
    }),
    attrs: { thresholds: [1, 0.5], upper: 1.5, stride: 1, pad: 1 },
  },
  StcBatchNormRunning: {
    inputs: () => ({
      runningMean: tf.zeros([2]),
      runningVar: tf.ones([2]),
      numBatchesTracked: tf.scalar(0, 'int32'),
      mean: tf.tensor([2, 3.5]),
      invstd: tf.tensor([1, 0.5]),
    }),
    attrs: { momentum: 0.1, eps: 1e-5, count: 4 },
  },
  StcSquaredNorm: { inputs: () => ({ x: tf.tensor([3, -4]) }), attrs: {} },
  StcSgdStep: {
    inputs: () => ({ p: tf.ones([3]), b: tf.zeros([3]), grad: tf.ones([3]) }),
    attrs: { lr: 0.1, momentum: 0.9, weightDecay: 0 },
  },
};

describe('the kernel table', () => {
  test('the native package holds the current compiled copy (scripts/emit-kernel-table.mjs --check)', () => {
    // Throws (exit 1, naming the stale file) when table.ts changed and the copy was not regenerated.
    execFileSync(process.execPath, ['scripts/emit-kernel-table.mjs', '--check'], {
      cwd: root,
      stdio: 'pipe',
    });
  });

  test('the kernel list of cpu and wasm holds every kernel of the table and no other Stc kernel; the test backend has them registered', () => {
    const stcNames = (configs: readonly tf.KernelConfig[]) =>
      configs
        .map((k) => k.kernelName)
        .filter((n) => n.startsWith('Stc'))
        .sort();
    for (const backend of ARRAY_BACKENDS)
      assert.deepEqual(stcNames(kernelConfigs(backend)), [...KERNEL_NAMES].sort(), backend);
    // registerAll runs at backend start-up: the active backend (cpu, wasm, or libtorch with its
    // native kernels) has every kernel of the table
    assert.deepEqual(
      stcNames(tf.getKernelsForBackend(tf.getBackend())),
      [...KERNEL_NAMES].sort(),
      tf.getBackend(),
    );
  });

  test('each kernel returns one tensor per output of the table, on the test backend', () => {
    for (const name of KERNEL_NAMES) {
      tf.tidy(() => {
        const call = calls[name] as { inputs: () => tf.NamedTensorMap; attrs: object };
        const out = tf.engine().runKernel(name, call.inputs(), { ...call.attrs });
        const n = Array.isArray(out) ? out.length : 1;
        assert.equal(n, KERNELS[name].outputs.length, name);
      });
    }
  });

  test('runKernel passes inputs and attributes through: StcQuantize of [0.9, 0.3, -1] with [0.8, 0.4]', async () => {
    const q = runKernel('StcQuantize', { x: tf.tensor([0.9, 0.3, -1]) }, { thresholds: [0.8, 0.4] });
    assert.deepEqual(Array.from(await q.data()), [Math.fround(0.8), 0, 0]);
    q.dispose();
  });

  test('readAttrs fills in defaults and passes given values through unchanged', () => {
    const th = [0.5, 0.25];
    const a = readAttrs('StcQuantize', { thresholds: th });
    assert.deepEqual(a, { thresholds: th, strict: false, upper: Infinity });
    assert.equal(a.thresholds, th);
    assert.deepEqual(readAttrs('StcQuantizeGrad', undefined), { upper: Infinity });
    assert.deepEqual(readAttrs('StcSgdStep', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true }), {
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      nesterov: true,
    });
    assert.deepEqual(readAttrs('StcBatchNormTrainGrad', { ignored: 1 }), {});
  });

  test('readAttrs refuses a missing attribute without default, or a wrong type, in one line', () => {
    assert.throws(() => readAttrs('StcEncode', {}), {
      name: 'TypeError',
      message: 'kernel StcEncode: attribute thresholds must be number[], got undefined',
    });
    assert.throws(() => readAttrs('StcEncode', { thresholds: [1, '2'] }), {
      message: 'kernel StcEncode: attribute thresholds must be number[], got [number, string]',
    });
    assert.throws(() => readAttrs('StcSgdStep', { lr: '0.1', momentum: 0, weightDecay: 0 }), {
      message: 'kernel StcSgdStep: attribute lr must be number, got string',
    });
    assert.throws(() => readAttrs('StcQuantize', { thresholds: [1], strict: 1 }), {
      message: 'kernel StcQuantize: attribute strict must be boolean, got number',
    });
  });

  test("a kernel called with a bad attribute fails with readAttrs' message", () => {
    const x = tf.tensor([1]);
    assert.throws(
      () => tf.engine().runKernel('StcSpikeCount', { x }, {}),
      /kernel StcSpikeCount: attribute thresholds must be number\[\]/,
    );
    x.dispose();
  });

  test('isKernelName and the types follow the table', () => {
    assert.equal(isKernelName('StcSgdStep'), true);
    assert.equal(isKernelName('Conv2D'), false);
    assert.equal(isKernelName('toString'), false);
    // Compile-time checks: tsc fails on an unused @ts-expect-error.
    const x = tf.tensor([1]);
    const typed = () => {
      // @ts-expect-error thresholds is required
      runKernel('StcQuantize', { x }, { strict: true });
      // @ts-expect-error lr must be a number
      runKernel('StcSgdStep', { p: x, b: x, grad: x }, { lr: '1', momentum: 0, weightDecay: 0 });
      // @ts-expect-error StcQuantizeGrad takes dy and x
      runKernel('StcQuantizeGrad', { x });
      // @ts-expect-error not a kernel of the table
      runKernel('StcRelu', { x });
      const [y, mean, invstd] = runKernel('StcBatchNormTrain', { x, gamma: x, beta: x }, { eps: 1e-5 });
      return [y, mean, invstd];
    };
    assert.equal(typeof typed, 'function');
    x.dispose();
  });
});
