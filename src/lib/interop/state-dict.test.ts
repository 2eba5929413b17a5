import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { stcConfig } from '../core/config.js';
import { buildNetwork, type ArchConfig } from '../nn/models.js';
import { encodeSafetensors, decodeSafetensors, type SafeTensor } from './safetensors.js';
import {
  CheckpointError,
  describeIdentity,
  identityMismatch,
  identityOf,
  loadStateDict,
  MISMATCHES_SHOWN,
  stateDictMismatches,
  stateDictOf,
  stateDictSpec,
} from './state-dict.js';
import { decodeModel, encodeModel, loadModel, META_KEYS, saveModel } from './model-file.js';
import { evalLogits, randomizeThresholds, smallConfig } from './small-networks.test-support.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

/** A tiny VGG11 (width 1/16, 8x8x1 inputs, 3 classes, T = 4), `over` on top. */
function cfg(over: Partial<ArchConfig> = {}): ArchConfig {
  return smallConfig({ width: 0.0625, inputShape: [8, 8, 1], classes: 3, stcInput: { T: 4 }, ...over });
}

test('stateDictOf writes PyTorch layouts: conv [out,in,kh,kw], linear [out,in], num_batches_tracked I64 []', () => {
  const net = buildNetwork(cfg(), 1);
  const sd = stateDictOf(net);
  const stem = sd['stem.weight'];
  assert.equal(stem.dtype, 'F32');
  assert.deepEqual(stem.shape, [4, 1, 3, 3]);
  const w = net
    .namedVariables()
    .find((e) => e.name === 'stem.weight')!
    .variable.arraySync() as number[][][][];
  // PyTorch element [o, i, kh, kw] is ours [kh, kw, i, o].
  for (const [o, i, kh, kw] of [
    [0, 0, 0, 0],
    [3, 0, 1, 2],
    [2, 0, 2, 1],
  ]) {
    const flat = ((o * 1 + i) * 3 + kh) * 3 + kw;
    assert.equal((stem.data as Float32Array)[flat], Math.fround(w[kh][kw][i][o]));
  }
  const b1 = sd['blocks.0.conv.weight'];
  assert.deepEqual(b1.shape, [8, 4, 3, 3]);
  const wb = net
    .namedVariables()
    .find((e) => e.name === 'blocks.0.conv.weight')!
    .variable.arraySync() as number[][][][];
  assert.equal((b1.data as Float32Array)[((5 * 4 + 3) * 3 + 2) * 3 + 0], Math.fround(wb[2][0][3][5]));
  const lin = sd['classifier.weight'];
  assert.deepEqual(lin.shape, [3, 32]);
  const wl = net
    .namedVariables()
    .find((e) => e.name === 'classifier.weight')!
    .variable.arraySync() as number[][];
  assert.equal((lin.data as Float32Array)[2 * 32 + 7], Math.fround(wl[7][2]));
  const nbt = sd['stem_bn.num_batches_tracked'];
  assert.equal(nbt.dtype, 'I64');
  assert.deepEqual(nbt.shape, []);
  assert.deepEqual(sd['stem_bn.running_var'].shape, [4]);
  assert.deepEqual(
    Object.keys(sd),
    stateDictSpec(net).map((s) => s.name),
  );
  net.dispose();
});

test('a model file round trips: same logits, same config, same metadata', async () => {
  const config = cfg({ arch: 'resnet18', width: 0.0625, stc: stcConfig({ T: 3, theta0: 0.5, tau: 1.5 }) });
  const net = buildNetwork(config, 7);
  // Make the batch-norm statistics non-trivial.
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  tf.tidy(() => net.forward(x, { training: true }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-sd-'));
  const file = path.join(dir, 'm.safetensors');
  await saveModel(file, net, {
    normalization: { scale: 255, mean: [0.5], std: [0.25] },
    classNames: ['a', 'b', 'c'],
    metadata: { 'stcsnn.epoch': '3' },
  });
  const { net: back, file: mf } = await loadModel(file);
  assert.deepEqual(mf.config, config);
  assert.deepEqual(mf.normalization, { scale: 255, mean: [0.5], std: [0.25] });
  assert.deepEqual(mf.classNames, ['a', 'b', 'c']);
  assert.equal(mf.metadata['stcsnn.epoch'], '3');
  assert.deepEqual(Array.from(evalLogits(back, x)), Array.from(evalLogits(net, x)));
  const nbt = mf.tensors['layer1.0.bn1.num_batches_tracked'];
  assert.equal((nbt.data as BigInt64Array)[0], 1n);
  assert.deepEqual(fs.readdirSync(dir), ['m.safetensors'], 'no temporary file left behind');
  fs.rmSync(dir, { recursive: true });
  x.dispose();
  net.dispose();
  back.dispose();
});

for (const learnTheta of ['layer', 'channel'] as const) {
  test(`a model file with thresholds learned per ${learnTheta} round trips: log_theta, thresholds and logits`, async () => {
    const config = cfg({ arch: 'vgg11', width: 0.125, stc: stcConfig({ gradient: 'clipped', learnTheta }) });
    const net = buildNetwork(config, 5);
    randomizeThresholds(net, 9);
    const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-sd-'));
    const file = path.join(dir, 'm.safetensors');
    await saveModel(file, net);
    const { net: back, file: mf } = await loadModel(file);
    assert.equal(mf.config.stc.learnTheta, learnTheta);
    const t = mf.tensors['blocks.0.conv.log_theta'];
    assert.ok(t, 'blocks.0.conv.log_theta is in the file');
    const cin = mf.tensors['blocks.0.conv.weight'].shape[1]; // PyTorch [Cout, Cin, kh, kw]
    assert.deepEqual(t.shape, learnTheta === 'layer' ? [] : [cin]);
    const layer = 'blocks.0.conv';
    assert.deepEqual(back.learnedTheta0(layer), net.learnedTheta0(layer));
    assert.ok(
      net.learnedTheta0(layer)!.some((v) => Math.abs(v - config.stc.theta0) > 1e-3),
      'thresholds moved from theta0',
    );
    assert.deepEqual(Array.from(evalLogits(back, x)), Array.from(evalLogits(net, x)));
    fs.rmSync(dir, { recursive: true });
    x.dispose();
    net.dispose();
    back.dispose();
  });
}

test('loadStateDict names the first mismatches and their count in one short line, and assigns nothing', () => {
  const small = buildNetwork(cfg(), 1);
  const big = buildNetwork(cfg({ width: 0.125 }), 2);
  const before = evalLogits(big, tf.ones([1, 8, 8, 1]));
  const sd: Record<string, SafeTensor> = stateDictOf(small);
  delete sd['blocks.0.conv.weight'];
  sd['blocks.2.bn.num_batches_tracked'] = { dtype: 'I32', shape: [], data: Int32Array.of(0) };
  sd['extra.weight'] = { dtype: 'F32', shape: [1], data: Float32Array.of(0) };
  // every mismatch is still available to callers that want the list
  const all = stateDictMismatches(big, sd);
  assert.ok(all.length > 30, String(all.length));
  assert.ok(all.includes('missing blocks.0.conv.weight'));
  assert.ok(all.includes('blocks.2.bn.num_batches_tracked has dtype I32 but the model expects I64'));
  assert.ok(all.includes('unexpected extra.weight'));
  assert.throws(
    () => loadStateDict(big, sd, 'small.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError);
      assert.equal(e.name, 'CheckpointError');
      assert.ok(!e.message.includes('\n'));
      assert.match(e.message, /^checkpoint small\.safetensors does not match vgg11 \(width 0\.125, stc\): /);
      assert.match(e.message, /stem\.weight has shape \[4,1,3,3\] but the model expects \[8,1,3,3\]/);
      assert.ok(e.message.endsWith(`; ... (${all.length} mismatches in all)`), e.message);
      assert.equal(e.message.split('; ').length, MISMATCHES_SHOWN + 1, e.message);
      assert.ok(e.message.length < 400, `${e.message.length} characters`);
      return true;
    },
  );
  assert.deepEqual(
    Array.from(evalLogits(big, tf.ones([1, 8, 8, 1]))),
    Array.from(before),
    'nothing assigned',
  );
  const nan = stateDictOf(small);
  (nan['classifier.bias'].data as Float32Array)[1] = NaN;
  assert.throws(
    () => loadStateDict(small, nan, 'nan.safetensors'),
    /classifier\.bias holds a non-finite value \(NaN\) at index 1/,
  );
  small.dispose();
  big.dispose();
});

test('a model file without a valid description is a CheckpointError naming the file', () => {
  const net = buildNetwork(cfg(), 1);
  const good = decodeSafetensors(encodeModel(net), 'g');
  const variants: [Record<string, string>, RegExp][] = [
    [{}, /no stcsnn\.format metadata/],
    [{ ...good.metadata, [META_KEYS.format]: 'stcsnn-model/9' }, /unsupported stcsnn\.format/],
    [{ ...good.metadata, [META_KEYS.config]: '{' }, /stcsnn\.config is not valid JSON/],
    [
      { ...good.metadata, [META_KEYS.config]: good.metadata[META_KEYS.config].replace('"vgg11"', '"vgg99"') },
      /unknown arch "vgg99"/,
    ],
    [
      { ...good.metadata, [META_KEYS.config]: good.metadata[META_KEYS.config].replace('"T":4', '"T":0') },
      /T must be an integer/,
    ],
    [
      { ...good.metadata, [META_KEYS.normalization]: '{"scale":255,"mean":[0,0],"std":[1,1]}' },
      /normalization/,
    ],
    [{ ...good.metadata, [META_KEYS.classNames]: '["a"]' }, /class_names must be an array of 3 strings/],
  ];
  for (const [meta, re] of variants) {
    const bytes = encodeSafetensors(good.tensors, meta);
    assert.throws(
      () => decodeModel(bytes, 'bad.safetensors'),
      (e: unknown) =>
        e instanceof CheckpointError && /^bad\.safetensors: /.test(e.message) && re.test(e.message),
      String(re),
    );
  }
  net.dispose();
});

test('identityMismatch names both networks (and only the fields that matter), or null for the same one', () => {
  const a = identityOf(cfg({ arch: 'resnet18', width: 1, stc: stcConfig({ T: 8 }) }));
  const b = identityOf(cfg());
  assert.equal(describeIdentity(a), 'resnet18 (width 1, T 8)');
  assert.equal(
    identityMismatch('X', a, b),
    'X is a resnet18 checkpoint (width 1, T 8), this run is vgg11 (width 0.0625, T 4)',
  );
  assert.equal(
    identityMismatch('X', b, identityOf(cfg({ path: 'spike-train' }))),
    null,
    'the path is no identity',
  );
  assert.match(
    identityMismatch('X', b, identityOf(cfg({ classes: 5, mode: 'ann' }))) ?? '',
    /^X is a vgg11 checkpoint \(width 0\.0625, T 4, stc, 3 classes\), this run is vgg11 \(width 0\.0625, T 4, ann, 5 classes\)$/,
  );
  // a training configuration knows no geometry: only what both know is compared
  assert.equal(identityMismatch('X', b, { arch: 'vgg11', mode: 'stc', width: 0.0625, T: 4 }), null);
});

test('learned thresholds whose thresholds leave float32 (log_theta -1000 or 100) are refused on load (issue 33, minor)', () => {
  const config = cfg({ stc: stcConfig({ learnTheta: 'layer', gradient: 'clipped', T: 4 }) });
  const net = buildNetwork(config, 1);
  try {
    const name = Object.keys(stateDictOf(net)).find((n) => n.endsWith('.log_theta'))!;
    assert.ok(name, 'the network has a learned threshold');
    for (const v of [-1000, 100]) {
      const tensors = stateDictOf(net);
      (tensors[name].data as Float32Array).fill(v);
      const problems = stateDictMismatches(net, tensors);
      assert.equal(problems.length, 1, problems.join('; '));
      assert.match(
        problems[0],
        new RegExp(
          `^${name.replace(/\./g, '\\.')} holds ${v} at index 0: thresholds outside \\[1e-30, 1e\\+38\\] \\(float32\\)`,
        ),
      );
      assert.throws(() => loadStateDict(net, tensors, 'm.safetensors'), CheckpointError);
    }
    assert.deepEqual(stateDictMismatches(net, stateDictOf(net)), [], 'its own thresholds load');
  } finally {
    net.dispose();
  }
});
