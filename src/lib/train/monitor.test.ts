/**
 * The runaway monitor: its quantile against a sort, its figures against direct counts over the
 * recorded samples (limit included), the batch norm feeding each STCB in every architecture, the
 * units of learned thresholds (x / theta0 against unit S), and the runaway rule. (The figures as
 * `log.jsonl` holds them, and the CLI's warning: `src/app/train/`.)
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { saturation, stcConfig } from '../core/config.js';
import { encodeScalar } from '../core/stc.js';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { buildNetwork } from '../nn/models.js';
import { planNetwork } from '../nn/plan.js';
import {
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  feedingBatchNorm,
  findRunaway,
  nearestRankQuantile,
  stcbFigures,
  type StcbFigures,
} from './monitor.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('the nearest-rank quantile is the ceil(q n)-th smallest value', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 300 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (xs, q) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const k = Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1));
        assert.equal(nearestRankQuantile(Float32Array.from(xs), q), sorted[k]);
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(Number.isNaN(nearestRankQuantile(new Float32Array(0), 0.5)));
  // 0.999 of 1000 values: the 999th smallest
  const v = Float32Array.from({ length: 1000 }, (_, i) => 999 - i);
  assert.equal(nearestRankQuantile(v, 0.999), 998);
});

test('figures equal direct counts over the first `limit` samples', () => {
  fc.assert(
    fc.property(
      fc.record({
        T: fc.integer({ min: 1, max: 10 }),
        theta0: fc.double({ min: 0.1, max: 3, noNaN: true }),
      }),
      fc.integer({ min: 1, max: 7 }),
      // batches of 3 samples x 2 neurons, values on a grid of 1/8 (exact in float32)
      fc.array(fc.array(fc.integer({ min: -40, max: 80 }), { minLength: 6, maxLength: 6 }), {
        minLength: 1,
        maxLength: 4,
      }),
      (input, limit, batches) => {
        const cfg = stcConfig({ ...input, tau: 2 });
        const S = Math.fround(saturation(cfg));
        const mon = new StcbMonitor(limit);
        const kept: number[] = [];
        for (const b of batches) {
          if (!mon.wants()) break;
          const xs = b.map((k) => k / 8);
          kept.push(...xs.slice(0, 2 * Math.min(3, limit - kept.length / 2)));
          const x = tf.tensor2d(xs, [3, 2]);
          mon.record('l', x, cfg);
          x.dispose();
          mon.batchDone(3);
        }
        const [f] = mon.figures();
        const n = kept.length;
        assert.equal(f.samples, n / 2);
        assert.equal(f.S, S);
        assert.equal(f.input_max, Math.max(...kept));
        assert.equal(f.input_p999, [...kept].sort((a, b) => a - b)[Math.ceil(0.999 * n) - 1]);
        assert.equal(f.saturated_share, kept.filter((v) => v >= S).length / n);
        assert.equal(f.nonpositive_share, kept.filter((v) => v <= 0).length / n);
        const spikes = kept.reduce((a, v) => a + encodeScalar(v, cfg).spikes.reduce((x, y) => x + y, 0), 0);
        assert.ok(
          Math.abs(f.fire_rate - spikes / n / cfg.T) < 1e-12,
          `${f.fire_rate} vs ${spikes / n / cfg.T}`,
        );
        assert.equal(f.bn, null);
      },
    ),
    { numRuns: 80 },
  );
});

test('every STCB is fed by the batch norm before it (through max pools)', () => {
  const base = { width: 0.25, inputShape: [32, 32, 3] as const, classes: 10 };
  const vgg = planNetwork({ ...base, arch: 'vgg16' });
  assert.equal(feedingBatchNorm(vgg, 'blocks.0.conv'), 'stem_bn');
  // blocks.1 reads a max pool over blocks.0.bn
  assert.equal(vgg.layers.find((l) => l.name === 'blocks.1.conv')?.inputs[0], 'blocks.1.pool');
  assert.equal(feedingBatchNorm(vgg, 'blocks.1.conv'), 'blocks.0.bn');
  assert.equal(feedingBatchNorm(vgg, 'blocks.2.conv'), 'blocks.1.bn');
  assert.equal(feedingBatchNorm(vgg, 'stem'), null, 'the stem reads the input');
  assert.equal(feedingBatchNorm(vgg, 'nope'), null);
  const r18 = planNetwork({ ...base, arch: 'resnet18' });
  assert.equal(feedingBatchNorm(r18, 'layer1.0.conv1'), 'layer1.0.bn1');
  assert.equal(feedingBatchNorm(r18, 'layer1.0.conv2'), 'layer1.0.bn2');
  assert.equal(feedingBatchNorm(r18, 'layer2.0.shortcut'), 'layer2.0.bn1');
  for (const plan of [vgg, r18])
    for (const l of plan.layers.filter((x) => x.kind === 'stcb-conv'))
      assert.notEqual(feedingBatchNorm(plan, l.name), null, l.name);
});

test('with learned thresholds the figures are in units of theta0 (x / theta0 against the unit S)', () => {
  const arch = {
    arch: 'vgg11' as const,
    mode: 'stc' as const,
    width: 0.125,
    inputShape: [16, 16, 1] as [number, number, number],
    classes: 4,
    path: 'fused' as const,
  };
  const theta0 = 0.5;
  const code = { T: 6, theta0, gradient: 'clipped' as const };
  const fixed = buildNetwork({ ...arch, stc: stcConfig(code) }, 3);
  const learned = buildNetwork({ ...arch, stc: stcConfig({ ...code, learnTheta: 'layer' }) }, 3);
  const x = tf.randomNormal([5, 16, 16, 1], 0, 2, 'float32', 11) as tf.Tensor4D;
  const figs = [fixed, learned].map((net) => {
    const mon = new StcbMonitor(5);
    tf.tidy(() => void net.forward(x, { training: false, stats: mon }));
    return stcbFigures(net, mon);
  });
  const [a, b] = figs;
  assert.equal(a.length, 7);
  assert.equal(a[0].bn?.layer, 'stem_bn');
  assert.equal(a[0].bn?.gamma_abs_mean, 1, 'batch norm starts at gamma = 1');
  assert.equal(b[0].S, Math.fround(saturation(stcConfig({ T: 6, theta0: 1 }))));
  assert.equal(a[0].S, Math.fround(saturation(stcConfig({ T: 6, theta0 }))));
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(b[i].input_p999 * theta0 - a[i].input_p999) <= 1e-5 * Math.abs(a[i].input_p999));
    assert.ok(Math.abs(b[i].saturated_share - a[i].saturated_share) <= 1e-3, a[i].layer);
    assert.ok(Math.abs(b[i].fire_rate - a[i].fire_rate) <= 1e-3, a[i].layer);
  }
  x.dispose();
  fixed.dispose();
  learned.dispose();
});

const fig = (layer: string, p999: number, S = 2): StcbFigures => ({
  layer,
  samples: 10,
  S,
  input_max: p999 * 1.5,
  input_p999: p999,
  saturated_share: 0.1,
  nonpositive_share: 0.8,
  fire_rate: 0.1,
  bn: { layer: `${layer}.bn`, gamma_abs_mean: 3, gamma_abs_max: 40 },
});

test('the runaway rule fires at p999 >= 10 S, on the worst layer', () => {
  assert.equal(RUNAWAY_P999_FACTOR, 10);
  assert.equal(findRunaway([fig('a', 19.99), fig('b', 5)]), null);
  assert.equal(findRunaway([]), null);
  const r = findRunaway([fig('a', 20), fig('b', 3e6), fig('c', 25)]);
  assert.equal(r?.layer, 'b');
  assert.equal(r?.factor, 1.5e6);
  // in units of theta0: the same p999 against a larger unit S does not fire
  assert.equal(findRunaway([fig('a', 20, 2.5)]), null);
  assert.equal(findRunaway([fig('a', NaN)])?.layer, 'a', 'NaN counts as running away');
});
