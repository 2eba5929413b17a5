/**
 * Numerical guards: a NaN or Infinity in the loss or the gradients stops training with a
 * NumericalError naming the step (and the parameter, for gradients); the CLI reports it as one
 * line with exit code 2; the last good checkpoint is left as it was and still loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { decodeSafetensors, encodeSafetensors } from '../../lib/interop/safetensors.js';
import { loadCheckpoint, readRunState, TRAIN_META } from '../rundir/checkpoint.js';
import { configHash } from '../config/config-hash.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import { Sgd } from '../../lib/train/sgd.js';
import { archFor, NumericalError, train } from '../train/train.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'stcsnn-nan-'));

before(async () => {
  await initBackend(backend);
});
after(() => rmSync(root, { recursive: true, force: true }));

const tiny: TrainConfig = {
  ...TRAIN_DEFAULTS,
  width: 0.125,
  epochs: 1,
  limitTrain: 96,
  limitTest: 20,
  stc: stcConfig({ T: 4 }),
  seed: 5,
};

/** Where a NumericalError says it happened. */
const STEP = /at step \d+ \(epoch \d+, batch \d+\)/;

test('a diverging fresh run stops with a NumericalError naming the step, before any checkpoint', async () => {
  const dir = join(root, 'fresh');
  await assert.rejects(train({ ...tiny, lr: 100 }, { runDir: dir, backend }), (e: unknown) => {
    assert.ok(e instanceof NumericalError, String(e));
    assert.match(e.message, STEP);
    assert.match(e.message, /training stopped before the first checkpoint/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  assert.ok(!existsSync(join(dir, 'last.safetensors')), 'no checkpoint of a diverged epoch');
  assert.equal(readFileSync(join(dir, 'log.jsonl'), 'utf8'), '', 'no log line for a diverged epoch');
});

test('divergence after a good epoch: exit 2, one line naming step and parameter, last checkpoint intact', async (t) => {
  const dir = join(root, 'resumed');
  await train(tiny, { runDir: dir, backend });
  const last = join(dir, 'last.safetensors');
  const good = readFileSync(last);
  const goodLog = readFileSync(join(dir, 'log.jsonl'), 'utf8');
  // A run whose later epochs diverge: the same run as if it had been started with an absurd
  // learning rate. (Editing config.json alone is refused by --resume, so the checkpoint's
  // recorded configuration and hash are rewritten to match: a forged but consistent run.)
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as TrainConfig;
  const wild = { ...cfg, lr: 100 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(wild));
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(good), last);
  writeFileSync(
    last,
    encodeSafetensors(tensors, {
      ...metadata,
      [TRAIN_META.config]: JSON.stringify(wild),
      [TRAIN_META.hash]: configHash(wild),
    }),
  );
  const forged = readFileSync(last);
  const r = spawnSync(
    process.execPath,
    [CLI, 'train', '--backend', backend, '--resume', dir, '--epochs', '4'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  const errLines = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
  assert.equal(errLines.length, 1, r.stderr);
  const msg = errLines[0];
  t.diagnostic(msg);
  assert.match(msg, STEP);
  // The gradient checks name the parameter; a non-finite loss has none to name.
  assert.match(
    msg,
    /^stcsnn: error: (loss is (NaN|-?Infinity)|(non-finite gradient|gradient overflow) .* in [\w.]+)/,
  );
  assert.match(msg, /the last good checkpoint .*last\.safetensors \(epoch 1\) is intact/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  // The checkpoint is byte for byte the one of epoch 1, and it loads (weights and momentum).
  assert.ok(readFileSync(last).equals(forged), 'last.safetensors unchanged');
  assert.equal(readFileSync(join(dir, 'log.jsonl'), 'utf8'), goodLog, 'log.jsonl unchanged');
  assert.equal(readRunState(last).epoch, 0);
  const net = buildNetwork(archFor(tiny, { shape: [28, 28, 1], classes: 10 }), 99);
  const sgd = new Sgd(net.trainableVariables(), { momentum: 0.9, weightDecay: 0, nesterov: false });
  try {
    loadCheckpoint(last, net, sgd);
    assert.ok(
      sgd.buffers.some((b) => tf.tidy(() => tf.sum(tf.abs(b)).dataSync()[0]) > 0),
      'momentum restored',
    );
  } finally {
    sgd.dispose();
    net.dispose();
  }
});
