/**
 * Prepacked filters (src/ops.cc): outside gradient recording, a wide convolution uses a blocked
 * copy of its filter, cached until the filter changes. Its results agree with the cpu backend,
 * with the plain path taken under gradient recording, after an in-place SGD step on the filter,
 * and for a new filter that takes the freed one's memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxRelDiff, rand, setup, cpuOnlyReason, tf } from './helpers.js';

const X = [2, 4, 4, 256];
const W = [3, 3, 256, 512]; // wide enough for the blocked path

/** conv2d of (x, w) values on the cpu backend */
async function onCpu(xv, wv) {
  await tf.setBackend('cpu');
  const v = tf.tidy(() => tf.conv2d(tf.tensor4d(xv, X), tf.tensor4d(wv, W), 1, 'same').dataSync().slice());
  await tf.setBackend('libtorch');
  return v;
}

test(
  'a wide convolution outside gradient recording agrees with cpu, the recorded path, and follows its filter',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    const xv = rand(
      X.reduce((a, b) => a * b),
      41,
    );
    const wv = rand(
      W.reduce((a, b) => a * b),
      42,
      -0.05,
      0.05,
    );
    const ref = await onCpu(xv, wv);
    await tf.setBackend('libtorch');
    const x = tf.tensor4d(xv, X);
    const w0 = tf.tensor4d(wv, W);
    const w = tf.variable(w0);
    w0.dispose();
    const infer = () => tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync().slice());
    const first = infer();
    const second = infer(); // from the cached blocked filter
    assert.ok(maxRelDiff(ref, first) <= 1e-4, `inference vs cpu: ${maxRelDiff(ref, first)}`);
    const diffs = first.filter((v, i) => !Object.is(v, second[i])).length;
    assert.equal(
      diffs,
      0,
      `the cached filter gives the same result (${diffs} differ, max rel ${maxRelDiff(first, second)})`,
    );
    let recorded;
    tf.grad((xx) => {
      const y = tf.conv2d(xx, w, 1, 'same');
      recorded = y.dataSync().slice();
      return tf.sum(y);
    })(x).dispose();
    assert.ok(
      maxRelDiff(ref, recorded) <= 1e-4,
      `recorded (plain path) vs cpu: ${maxRelDiff(ref, recorded)}`,
    );

    // an in-place SGD step changes the filter: the next inference sees the new values
    const b0 = tf.zerosLike(w);
    const b = tf.variable(b0);
    b0.dispose();
    const g = tf.onesLike(w);
    const [np, nb] = tf
      .engine()
      .runKernel(
        'StcSgdStep',
        { p: w, b, grad: g },
        { lr: 0.01, momentum: 0.9, weightDecay: 0, nesterov: false },
      );
    assert.equal(np.dataId, w.dataId, 'the step ran in place');
    tf.dispose([np, nb, g]);
    const stepped = await onCpu(
      xv,
      Float32Array.from(wv, (v) => Math.fround(v - 0.01)),
    );
    const after = infer();
    assert.ok(maxRelDiff(stepped, after) <= 1e-4, `after the step: ${maxRelDiff(stepped, after)}`);

    // a new filter in the freed filter's memory: its own values, not the cached copy
    w.dispose();
    b.dispose();
    const wv2 = rand(
      W.reduce((a, c) => a * c),
      43,
      -0.05,
      0.05,
    );
    const w2 = tf.tensor4d(wv2, W);
    const fresh = tf.tidy(() => tf.conv2d(x, w2, 1, 'same').dataSync().slice());
    const ref2 = await onCpu(xv, wv2);
    assert.ok(maxRelDiff(ref2, fresh) <= 1e-4, `a new filter: ${maxRelDiff(ref2, fresh)}`);
    tf.dispose([x, w2]);
  },
);
