import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { explicitPad } from '../core/stcb.js';
import { initBackend } from './backend.js';

/** Gradients of `sum(conv2d(x, w) * probe)` on the active backend. */
function convGrads(
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  probe: number[],
  ps: number[],
  stride: number,
  pad: number,
) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xs as [number, number, number, number]);
    const wt = tf.tensor4d(w, ws as [number, number, number, number]);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad === 0 ? 'valid' : explicitPad(pad)),
          tf.tensor(probe, ps),
        ),
      );
    const [gx, gw] = tf.grads(f)([xt, wt]);
    return { gx: Array.from(gx.dataSync()), gw: Array.from(gw.dataSync()) };
  });
}

function rand(n: number, seed: number): number[] {
  return Array.from(tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', seed).dataSync()));
}

before(async () => {
  await initBackend('wasm');
});

// The geometries the models use: 3x3 stride 1 pad 1, 3x3 stride 2 pad 1, 1x1 stride 2 pad 0 (+ odd sizes).
const cases = [
  { h: 8, k: 3, stride: 1, pad: 1 },
  { h: 8, k: 3, stride: 2, pad: 1 },
  { h: 7, k: 3, stride: 2, pad: 1 },
  { h: 8, k: 1, stride: 2, pad: 0 },
  { h: 7, k: 1, stride: 2, pad: 0 },
  { h: 5, k: 3, stride: 1, pad: 0 },
];

for (const c of cases) {
  test(`wasm conv gradients (forward-conv formulation) equal cpu's for k=${c.k} s=${c.stride} p=${c.pad} H=${c.h}`, async () => {
    const n = 2;
    const cin = 3;
    const cout = 4;
    const ho = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
    const xs = [n, c.h, c.h + 1, cin];
    const wo = Math.floor((c.h + 1 + 2 * c.pad - c.k) / c.stride) + 1;
    const ws = [c.k, c.k, cin, cout];
    const x = rand(n * c.h * (c.h + 1) * cin, 1);
    const w = rand(c.k * c.k * cin * cout, 2);
    const probe = rand(n * ho * wo * cout, 3);
    await tf.setBackend('wasm');
    const a = convGrads(x, xs, w, ws, probe, [n, ho, wo, cout], c.stride, c.pad);
    await tf.setBackend('cpu');
    const b = convGrads(x, xs, w, ws, probe, [n, ho, wo, cout], c.stride, c.pad);
    await tf.setBackend('wasm');
    const close = (u: number[], v: number[]) =>
      u.every((val, i) => Math.abs(val - v[i]) <= 1e-4 * Math.max(1, Math.abs(v[i])));
    assert.equal(a.gx.length, b.gx.length);
    assert.ok(close(a.gx, b.gx), 'input gradient');
    assert.ok(close(a.gw, b.gw), 'filter gradient');
  });
}
