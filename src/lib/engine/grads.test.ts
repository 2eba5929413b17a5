import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { stcConfig } from '../core/config.js';
import { buildNetwork, type Arch, type ArchConfig } from '../nn/models.js';
import { initBackend, type BackendRequest } from './backend.js';
import { valueAndGrads } from './grads.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

function setup(arch: Arch, mode: ArchConfig['mode']) {
  const net = buildNetwork({
    arch,
    mode,
    width: 0.125,
    inputShape: [32, 32, 3],
    classes: 4,
    stc: stcConfig({ gradient: 'clipped' }),
    path: 'fused',
  });
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  const x = tf.tensor4d(Float32Array.from({ length: 12 * 32 * 32 * 3 }, rnd), [12, 32, 32, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  const loss = () =>
    tf.mean(
      tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(net.forward(x, { training: true }))), 1)),
    ) as tf.Scalar;
  const vars = net.trainableVariables();
  return { net, x, labels, loss, vars, dispose: () => tf.dispose([x, labels]) };
}

const CASES: [Arch, ArchConfig['mode']][] = [
  ['resnet18', 'stc'],
  ['resnet18', 'ann'],
];

describe('valueAndGrads', () => {
  for (const [arch, mode] of CASES) {
    test(`${arch} ${mode}: the value and every gradient equal tf.variableGrads' bit for bit`, () => {
      const s = setup(arch, mode);
      const ref = tf.variableGrads(s.loss, s.vars);
      const ours = valueAndGrads(s.loss, s.vars);
      assert.equal(ours.value.dataSync()[0], ref.value.dataSync()[0]);
      assert.deepEqual(Object.keys(ours.grads).sort(), Object.keys(ref.grads).sort());
      assert.ok(Object.keys(ours.grads).length === s.vars.length, 'every variable has a gradient');
      for (const name of Object.keys(ref.grads)) {
        assert.deepEqual(ours.grads[name].dataSync(), ref.grads[name].dataSync(), name);
      }
      tf.dispose([ref.value, ours.value, ref.grads, ours.grads]);
      s.dispose();
    });

    test(`${arch} ${mode}: frees every intermediate and peaks lower than tf.variableGrads`, async () => {
      const s = setup(arch, mode);
      const before = tf.memory().numTensors;
      const peakBytes = async (grad: typeof valueAndGrads | typeof tf.variableGrads) => {
        const info = await tf.profile(() => {
          const r = grad(s.loss, s.vars);
          tf.dispose([r.value, r.grads]);
        });
        return info.peakBytes;
      };
      const tfjsPeak = await peakBytes(tf.variableGrads);
      const eagerPeak = await peakBytes(valueAndGrads);
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      // STC blocks keep only their inputs, so the eager pass saves more there; with the ANN
      // twin the peak is the end of the forward pass for both (tfjs's ReLU keeps its input)
      const bound = mode === 'stc' ? 0.9 : 1;
      assert.ok(eagerPeak < bound * tfjsPeak, `peak bytes ${eagerPeak} (eager) vs ${tfjsPeak} (tfjs)`);
      s.dispose();
    });
  }

  test('a loss that ignores the variables, or is not a scalar, throws and leaves the engine usable', () => {
    const s = setup('resnet18', 'stc');
    const before = tf.memory().numTensors;
    assert.throws(() => valueAndGrads(() => tf.scalar(1), s.vars), /does not depend on any of the variables/);
    assert.throws(
      () => valueAndGrads(() => tf.sum(s.net.forward(s.x, { training: true }), 0) as tf.Scalar, s.vars),
      /must return a scalar/,
    );
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    const ok = valueAndGrads(s.loss, s.vars);
    assert.ok(Number.isFinite(ok.value.dataSync()[0]));
    tf.dispose([ok.value, ok.grads]);
    s.dispose();
  });

  test('inside another gradient computation it defers to tfjs (second-order gradients work)', () => {
    const v = tf.variable(tf.scalar(3), true, 'grads-test-v');
    // d/dv of (d/dv v^3) = 6 v = 18; the inner call runs while the outer tape records.
    const outer = tf.variableGrads(() => {
      const inner = valueAndGrads(() => tf.pow(v, 3) as tf.Scalar, [v]);
      return tf.sum(inner.grads[v.name]) as tf.Scalar;
    }, [v]);
    assert.equal(outer.grads[v.name].dataSync()[0], 18);
    tf.dispose([outer.value, outer.grads, v]);
  });
});
