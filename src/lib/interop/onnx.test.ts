import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { buildNetwork, type ArchConfig } from '../nn/models.js';
import { exportOnnx, onnxMetadata, type OnnxGraphKind } from './onnx.js';
import { CheckpointError, loadStateDict, stateDictOf } from './state-dict.js';
import {
  argmaxRows,
  evalLogits,
  randomizeThresholds,
  smallConfig,
  testInputs,
  toNchw,
  trainedNetwork,
} from './small-networks.test-support.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

async function runOnnx(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, dims) });
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

const CASES: { label: string; config: ArchConfig }[] = [
  { label: 'vgg11 stc', config: smallConfig({ arch: 'vgg11' }) },
  { label: 'resnet18 stc', config: smallConfig({ arch: 'resnet18' }) },
  {
    label: 'vgg11 stc geometric, fire >',
    config: smallConfig({ arch: 'vgg11', stcInput: { schedule: 'geometric', T: 6, fire: '>' } }),
  },
  { label: 'resnet18 ann', config: smallConfig({ arch: 'resnet18', mode: 'ann' }) },
  {
    label: 'vgg11 stc, thresholds learned per channel',
    config: smallConfig({ arch: 'vgg11', stcInput: { gradient: 'clipped', learnTheta: 'channel' } }),
  },
  {
    label: 'vgg11 stc, shift half',
    config: smallConfig({ arch: 'vgg11', stcInput: { shift: 'half' } }),
  },
  {
    label: 'resnet18 stc, shift half, thresholds learned per channel',
    config: smallConfig({
      arch: 'resnet18',
      stcInput: { gradient: 'clipped', learnTheta: 'channel', shift: 'half' },
    }),
  },
  {
    label: 'resnet18 stc, thresholds learned per layer',
    config: smallConfig({ arch: 'resnet18', stcInput: { gradient: 'clipped', learnTheta: 'layer' } }),
  },
];

for (const { label, config } of CASES) {
  for (const graph of ['fused', 'spike-train'] as OnnxGraphKind[]) {
    test(`ONNX ${graph} export of ${label} matches stcsnn in onnxruntime (max |diff| <= 1e-4, same argmax)`, async (t) => {
      const net = trainedNetwork({ ...config, path: graph }, 2, 3);
      randomizeThresholds(net, 5);
      const n = 8;
      const x = testInputs(config.inputShape, n, 42);
      const expected = evalLogits(net, x);
      const bytes = exportOnnx(net, { graph });
      const [h, w, c] = config.inputShape;
      const got = await runOnnx(bytes, toNchw(x), [n, c, h, w]);
      assert.equal(got.length, expected.length);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
      const spread = Math.max(...expected) - Math.min(...expected);
      t.diagnostic(
        `${label} ${graph}: ${bytes.length} bytes, max |diff| ${maxDiff.toExponential(2)}, logit spread ${spread.toFixed(3)}`,
      );
      assert.ok(spread > 1e-3, 'the logits differ between inputs and classes (a non-trivial check)');
      if (config.mode === 'stc') {
        // Spikes matter at the scale checked: the ANN twin (ReLU, same weights) is > 10x the tolerance away.
        const twin = buildNetwork({ ...config, mode: 'ann' }, 0);
        const sd = Object.entries(stateDictOf(net)).filter(([k]) => !k.endsWith('.log_theta'));
        loadStateDict(twin, Object.fromEntries(sd), 'twin');
        const relu = evalLogits(twin, x);
        twin.dispose();
        let twinDiff = 0;
        for (let i = 0; i < relu.length; i++) twinDiff = Math.max(twinDiff, Math.abs(relu[i] - expected[i]));
        t.diagnostic(`${label}: the ANN twin differs by ${twinDiff.toExponential(2)}`);
        assert.ok(twinDiff > 1e-3, `ANN twin diff ${twinDiff}`);
      }
      assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff}`);
      assert.deepEqual(argmaxRows(got, config.classes), argmaxRows(expected, config.classes));
      x.dispose();
      net.dispose();
    });
  }
}

test('ONNX metadata carries the config, graph kind and normalisation', () => {
  const net = trainedNetwork(smallConfig({ width: 0.0625 }), 1, 1);
  const bytes = exportOnnx(net, {
    graph: 'spike-train',
    normalization: { scale: 255, mean: [0.1, 0.2, 0.3], std: [1, 2, 3] },
    classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
  });
  const meta = onnxMetadata(bytes, 'm.onnx');
  assert.equal(meta['stcsnn.graph'], 'spike-train');
  assert.equal(meta['stcsnn.input_layout'], 'NCHW');
  assert.equal(JSON.parse(meta['stcsnn.config']).arch, 'vgg11');
  assert.deepEqual(JSON.parse(meta['stcsnn.normalization']).std, [1, 2, 3]);
  net.dispose();
});

test('exporting an untrained network is a one-line CheckpointError', () => {
  const net = buildNetwork(smallConfig({ width: 0.0625 }), 1);
  assert.throws(
    () => exportOnnx(net, { graph: 'fused' }),
    (e: unknown) =>
      e instanceof CheckpointError &&
      /untrained vgg11/.test(e.message) &&
      /num_batches_tracked = 0/.test(e.message) &&
      !e.message.includes('\n'),
  );
  net.dispose();
});

test('a network with a fresh batch norm among trained ones is refused too', () => {
  const net = trainedNetwork(smallConfig({ width: 0.0625 }), 1, 1);
  const v = net.namedVariables().find((e) => e.name === 'blocks.3.bn.num_batches_tracked')!.variable;
  v.assign(tf.scalar(0, 'int32'));
  assert.throws(() => exportOnnx(net, { graph: 'fused' }), /batch norm blocks\.3\.bn never saw a batch/);
  net.dispose();
});
