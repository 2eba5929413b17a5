/**
 * The runaway monitor's figures as the trainer writes them into `log.jsonl`: they read back as
 * the same figures through the log's schema, and are what the reproduce reports read.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { StcbMonitor, stcbFigures } from '../../lib/train/monitor.js';
import { parseStcbEntry } from '../reproduce/measured.js';
import { stcbFiguresSchema } from '../rundir/log-file.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test("the monitor's figures read back through the log's schema and the reproduce reports' reader", () => {
  const net = buildNetwork(
    {
      arch: 'vgg11',
      mode: 'stc',
      width: 0.125,
      inputShape: [16, 16, 1],
      classes: 4,
      path: 'fused',
      stc: stcConfig({ T: 6, theta0: 0.5, gradient: 'clipped' }),
    },
    3,
  );
  const x = tf.randomNormal([5, 16, 16, 1], 0, 2, 'float32', 11) as tf.Tensor4D;
  const mon = new StcbMonitor(5);
  tf.tidy(() => void net.forward(x, { training: false, stats: mon }));
  const a = stcbFigures(net, mon);
  assert.equal(a.length, 7);
  assert.equal(a[0].bn?.layer, 'stem_bn');
  assert.deepEqual(stcbFiguresSchema.array().parse(JSON.parse(JSON.stringify(a))), a);
  const read = parseStcbEntry(JSON.parse(JSON.stringify(a)));
  assert.ok(read);
  assert.deepEqual(
    read.map((f) => [f.layer, f.input_p999, f.saturated_share, f.bn?.gamma_abs_max]),
    a.map((f) => [f.layer, f.input_p999, f.saturated_share, f.bn?.gamma_abs_max]),
  );
  x.dispose();
  net.dispose();
});
