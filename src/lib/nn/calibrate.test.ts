import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { smallConfig, testInputs, trainedNetwork } from '../interop/small-networks.test-support.js';
import { calibrateThresholds, percentileOfSorted } from './calibrate.js';
import { LOG_THETA } from './layers.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('percentileOfSorted: nearest rank, the ends, empty', () => {
  const v = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(percentileOfSorted(v, 100), 10);
  assert.equal(percentileOfSorted(v, 50), 5);
  assert.equal(percentileOfSorted(v, 99.9), 10);
  assert.equal(percentileOfSorted(v, 0.001), 1);
  assert.equal(percentileOfSorted(new Float32Array(0), 50), 0);
  fc.assert(
    fc.property(
      fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      (xs, q) => {
        const s = Float32Array.from(xs).sort();
        const p = percentileOfSorted(s, q);
        // at least q % of the values are <= p, and p is one of them
        const below = s.filter((x) => x <= p).length;
        return s.includes(p) && below >= (q / 100) * s.length - 1e-9;
      },
    ),
  );
});

for (const learnTheta of ['layer', 'channel'] as const) {
  test(`calibrateThresholds (${learnTheta}): every STCB in forward order, error never above the start, log_theta assigned`, () => {
    for (const T of [2, 8]) {
      const config = smallConfig({ stcInput: { T, gradient: 'clipped', learnTheta } });
      const net = trainedNetwork(config, 2, 3);
      const x = testInputs(config.inputShape, 8, 5);
      const stcbs = net.plan.layers.filter((l) => l.kind === 'stcb-conv').map((l) => l.name);
      const rows = calibrateThresholds(net, [x]);
      assert.deepEqual(
        rows.map((r) => r.layer),
        stcbs,
      );
      const vars = new Map(net.namedVariables().map((e) => [e.name, e.variable]));
      for (const r of rows) {
        assert.ok(r.mseAfter <= r.mseBefore, `${r.layer}: ${r.mseAfter} > ${r.mseBefore}`);
        assert.equal(r.after.length, learnTheta === 'layer' ? 1 : r.before.length);
        const got = Array.from(net.learnedTheta0(r.layer)!);
        const logTheta = vars.get(`${r.layer}.${LOG_THETA}`)!;
        assert.equal(logTheta.size, r.after.length);
        // theta0 = exp(log(theta0)) up to float32 rounding
        got.forEach((g, i) =>
          assert.ok(Math.abs(g - r.after[i]) <= 1e-6 * r.after[i], `${g} vs ${r.after[i]}`),
        );
      }
      // some threshold moved (the start, theta0 = 0.8, is not what these activations want)
      assert.ok(rows.some((r) => r.after.some((a, i) => a !== r.before[i])));
      x.dispose();
      net.dispose();
    }
  });
}

test('calibrateThresholds: fixed thresholds and ANNs have nothing to calibrate', () => {
  for (const config of [smallConfig(), smallConfig({ mode: 'ann' })]) {
    const net = trainedNetwork(config, 1, 3);
    const x = testInputs(config.inputShape, 4, 5);
    const before = net.namedVariables().map((e) => Array.from(e.variable.dataSync()));
    assert.deepEqual(calibrateThresholds(net, [x]), []);
    assert.deepEqual(
      net.namedVariables().map((e) => Array.from(e.variable.dataSync())),
      before,
    );
    tf.dispose([x]);
    net.dispose();
  }
});
