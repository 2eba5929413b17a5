/**
 * Loads stcsnn model files in PyTorch with the modules of docs/pytorch.md (strict
 * `load_state_dict`) and compares logits. Skipped, with a message, when Python with torch is
 * not available (`STCSNN_PYTHON` names the interpreter; default `python3`).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { saveModel } from './model-file.js';
import {
  argmaxRows,
  evalLogits,
  randomizeThresholds,
  smallConfig,
  testInputs,
  toNchw,
  trainedNetwork,
} from './small-networks.test-support.js';
import type { ArchConfig } from '../nn/models.js';

/** Interpreters tried in order; the first that imports torch and numpy runs the tests. */
const CANDIDATES = process.env.STCSNN_PYTHON ? [process.env.STCSNN_PYTHON] : ['python3', '/usr/bin/python3'];
const SCRIPT = fileURLToPath(new URL('../../../src/lib/interop/testdata/stcsnn_torch.py', import.meta.url));
const DOC = fileURLToPath(new URL('../../../docs/pytorch.md', import.meta.url));

function findPython(): { python?: string; why?: string } {
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 120_000 });
    if (!r.error && r.status === 0) return { python };
  }
  return { why: `no Python with torch and numpy (tried ${CANDIDATES.join(', ')}; set STCSNN_PYTHON)` };
}

const { python: PYTHON = 'python3', why: skip } = findPython();

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

test('docs/pytorch.md shows the tested PyTorch modules verbatim', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const code = fs.readFileSync(SCRIPT, 'utf8');
  const blocks = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length > 0, 'docs/pytorch.md has python blocks');
  assert.ok(
    blocks.includes(code),
    'a python block of docs/pytorch.md equals src/lib/interop/testdata/stcsnn_torch.py',
  );
});

const CASES: { label: string; config: ArchConfig }[] = [
  { label: 'vgg11 stc', config: smallConfig({ arch: 'vgg11' }) },
  { label: 'resnet18 stc', config: smallConfig({ arch: 'resnet18' }) },
  {
    label: 'vgg16 stc geometric, 1 channel 28x28',
    config: smallConfig({
      arch: 'vgg16',
      width: 0.0625,
      inputShape: [28, 28, 1],
      stcInput: { schedule: 'geometric', T: 5 },
    }),
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
    label: 'vgg11 stc, shift half, thresholds learned per channel',
    config: smallConfig({
      arch: 'vgg11',
      stcInput: { gradient: 'clipped', learnTheta: 'channel', shift: 'half' },
    }),
  },
  // (resnet18 with per-channel thresholds and the shift flips one spike on the wasm backend, whose
  // convolutions round differently from PyTorch's: a membrane within an ulp of a threshold)
  {
    label: 'resnet18 stc, shift half, thresholds learned per layer',
    config: smallConfig({
      arch: 'resnet18',
      stcInput: { gradient: 'clipped', learnTheta: 'layer', shift: 'half' },
    }),
  },
  {
    label: 'resnet18 stc, thresholds learned per layer',
    config: smallConfig({ arch: 'resnet18', stcInput: { gradient: 'clipped', learnTheta: 'layer' } }),
  },
];

for (const { label, config } of CASES) {
  test(
    `PyTorch load_state_dict(strict=True) of ${label}: same logits (max |diff| <= 1e-4, same argmax)`,
    { skip },
    async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-torch-'));
      const net = trainedNetwork(config, 2, 5);
      randomizeThresholds(net, 7);
      const x = testInputs(config.inputShape, 6, 11);
      const expected = evalLogits(net, x);
      const model = path.join(dir, 'model.safetensors');
      await saveModel(model, net);
      fs.writeFileSync(path.join(dir, 'x.f32'), toNchw(x));
      const r = spawnSync(
        PYTHON,
        [SCRIPT, '--check', model, path.join(dir, 'x.f32'), path.join(dir, 'y.f32')],
        {
          encoding: 'utf8',
          timeout: 600_000,
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const buf = fs.readFileSync(path.join(dir, 'y.f32'));
      const got = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      assert.equal(got.length, expected.length);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
      t.diagnostic(`${label}: max |diff| ${maxDiff.toExponential(2)}; ${r.stdout.trim()}`);
      assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff}`);
      assert.deepEqual(argmaxRows(got, config.classes), argmaxRows(expected, config.classes));
      fs.rmSync(dir, { recursive: true });
      x.dispose();
      net.dispose();
    },
  );
}
