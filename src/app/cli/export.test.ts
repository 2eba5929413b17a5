/** `stcsnn export` and `stcsnn predict` end to end: outputs, agreement, and exit code 2 on bad input. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, before, after } from 'node:test';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { decodeSafetensors, encodeSafetensors } from '../../lib/interop/safetensors.js';
import { META_KEYS, saveModel } from '../../lib/interop/model-file.js';
import { smallConfig, trainedNetwork } from '../../lib/interop/small-networks.test-support.js';
import type { Prediction, PredictResult } from './predict.js';
import type { ExportResult } from './export.js';
import { runCli } from './cli-run.test-support.js';

const BACKEND = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
let dir = '';

const run = (...args: string[]) => runCli(args, { timeout: 600_000, cwd: dir });

function expectBadInput(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], /^stcsnn: error: /);
  assert.match(lines[0], pattern);
}

function png(file: string, w: number, h: number, colour: boolean): void {
  const img = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    img.data[i * 4] = (i * 13) % 256;
    img.data[i * 4 + 1] = colour ? (i * 29) % 256 : (i * 13) % 256;
    img.data[i * 4 + 2] = colour ? (i * 71) % 256 : (i * 13) % 256;
    img.data[i * 4 + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(img, colour ? {} : { colorType: 0 }));
}

before(async () => {
  await initBackend(BACKEND as BackendRequest);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-export-'));
  const config = smallConfig({ arch: 'vgg11', width: 0.0625 });
  const net = trainedNetwork(config, 2, 2);
  const classNames = Array.from({ length: 10 }, (_, i) => `class${i}`);
  await saveModel(path.join(dir, 'run', 'best.safetensors'), net, {
    normalization: { scale: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    classNames,
  });
  await saveModel(path.join(dir, 'untrained.safetensors'), buildNetwork(config, 1));
  // Tensors of width 0.0625 under a description of width 0.125.
  const good = decodeSafetensors(fs.readFileSync(path.join(dir, 'run', 'best.safetensors')), 'x');
  const meta = { ...good.metadata };
  meta[META_KEYS.config] = meta[META_KEYS.config].replace('"width":0.0625', '"width":0.125');
  fs.writeFileSync(path.join(dir, 'mismatched.safetensors'), encodeSafetensors(good.tensors, meta));
  const bytes = fs.readFileSync(path.join(dir, 'run', 'best.safetensors'));
  fs.writeFileSync(path.join(dir, 'truncated.safetensors'), bytes.subarray(0, bytes.length - 10));
  const lying = Buffer.from(bytes);
  lying.writeBigUInt64LE(1n << 60n, 0);
  fs.writeFileSync(path.join(dir, 'overflow.safetensors'), lying);
  png(path.join(dir, 'colour.png'), 20, 24, true);
  png(path.join(dir, 'grey.png'), 16, 16, false);
  const raw = Buffer.alloc(18 * 18 * 4);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
  fs.writeFileSync(path.join(dir, 'colour.jpg'), jpeg.encode({ data: raw, width: 18, height: 18 }, 90).data);
  net.dispose();
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('export --json writes an ONNX file for both graphs; predict with it agrees with the checkpoint', () => {
  for (const graph of ['fused', 'spike-train']) {
    const r = run(
      'export',
      '--checkpoint',
      'run',
      '--out',
      `m-${graph}.onnx`,
      '--graph',
      graph,
      '--json',
      '--backend',
      BACKEND,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ExportResult;
    assert.equal(out.graph, graph);
    assert.equal(out.opset, 13);
    assert.deepEqual(out.input?.shape, ['N', 3, 16, 16]);
    assert.equal(fs.statSync(path.join(dir, `m-${graph}.onnx`)).size, out.bytes);
  }
  const inputs = ['colour.png', 'colour.jpg'];
  const viaOnnx = run(
    'predict',
    '--model',
    'm-spike-train.onnx',
    '--input',
    ...inputs,
    '--top',
    '3',
    '--json',
  );
  assert.equal(viaOnnx.code, 0, viaOnnx.stderr);
  const viaRun = run(
    'predict',
    '--model',
    'run',
    '--input',
    ...inputs,
    '--top',
    '3',
    '--json',
    '--backend',
    BACKEND,
  );
  assert.equal(viaRun.code, 0, viaRun.stderr);
  const a = JSON.parse(viaOnnx.stdout) as PredictResult;
  const b = JSON.parse(viaRun.stdout) as PredictResult;
  assert.equal(a.runtime, 'onnxruntime');
  assert.equal(b.runtime, 'stcsnn');
  assert.equal(a.predictions.length, 2);
  for (let i = 0; i < 2; i++) {
    const pa = a.predictions[i] as Prediction;
    const pb = b.predictions[i] as Prediction;
    assert.equal(pa.input, inputs[i]);
    assert.equal(pa.top.length, 3);
    assert.match(pa.top[0].name, /^class\d$/);
    assert.ok(
      pa.top[0].probability >= pa.top[1].probability && pa.top[1].probability >= pa.top[2].probability,
    );
    assert.ok(pa.top.reduce((s, t) => s + t.probability, 0) <= 1 + 1e-9);
    assert.deepEqual(
      pa.top.map((t) => t.class),
      pb.top.map((t) => t.class),
    );
    pa.top.forEach((t, j) => assert.ok(Math.abs(t.probability - pb.top[j].probability) < 1e-5));
  }
  const text = run('predict', '--model', 'm-fused.onnx', '--input', 'colour.png');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /colour\.png\nrank\s+class\s+name\s+probability\n1\s+\d\s+class\d\s+0\.\d{4}/);
});

test('export refuses untrained, mismatched and malformed checkpoints with exit code 2', () => {
  const bad = (file: string) => run('export', '--checkpoint', file, '--out', 'x.onnx', '--backend', BACKEND);
  expectBadInput(bad('untrained.safetensors'), /cannot export an untrained vgg11 .*num_batches_tracked = 0/);
  expectBadInput(
    bad('mismatched.safetensors'),
    /checkpoint mismatched\.safetensors does not match vgg11 \(width 0\.125, stc\): stem\.weight has shape \[4,3,3,3\] but the model expects \[8,3,3,3\];/,
  );
  expectBadInput(
    bad('truncated.safetensors'),
    /truncated\.safetensors: not a valid safetensors file: .*past the/,
  );
  expectBadInput(
    bad('overflow.safetensors'),
    /overflow\.safetensors: not a valid safetensors file: header length \d+ exceeds/,
  );
  expectBadInput(bad('missing-dir'), /missing-dir does not exist/);
  fs.mkdirSync(path.join(dir, 'empty-run'), { recursive: true });
  expectBadInput(bad('empty-run'), /run directory empty-run has no best\.safetensors or last\.safetensors/);
  assert.ok(!fs.existsSync(path.join(dir, 'x.onnx')), 'nothing written');
});

test('predict converts grey images for a colour model (said once), reports unreadable images in their entries, exit 2 only when none was predicted', () => {
  run('export', '--checkpoint', 'run', '--out', 'p.onnx', '--backend', BACKEND);
  const grey = run(
    'predict',
    '--model',
    'run',
    '--input',
    'grey.png',
    'grey.png',
    '--backend',
    BACKEND,
    '--json',
  );
  assert.equal(grey.code, 0, grey.stderr);
  const notes = grey.stderr.split('\n').filter((l) => /greyscale images are given/.test(l));
  assert.equal(notes.length, 1, grey.stderr);
  assert.equal((JSON.parse(grey.stdout) as PredictResult).predictions.length, 2);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
  const inputs = ['colour.png', 'notes.txt', 'nope.png', 'grey.png'];
  for (const model of ['p.onnx', 'run']) {
    const mixed = run('predict', '--model', model, '--input', ...inputs, '--json', '--backend', BACKEND);
    assert.equal(mixed.code, 0, mixed.stderr);
    assert.match(mixed.stderr, /2 of 4 images could not be predicted/);
    const out = JSON.parse(mixed.stdout) as PredictResult;
    assert.deepEqual(
      out.predictions.map((p) => p.input),
      inputs,
    );
    assert.deepEqual(out.predictions[1], { input: 'notes.txt', error: 'notes.txt: not a PNG or JPEG file' });
    assert.deepEqual(out.predictions[2], { input: 'nope.png', error: 'cannot read image nope.png (ENOENT)' });
    // the good images are predicted as they are alone
    const alone = JSON.parse(
      run('predict', '--model', model, '--input', 'colour.png', '--json', '--backend', BACKEND).stdout,
    ) as PredictResult;
    // (same classes; probabilities to float rounding: a batch of 2 and a batch of 1 may take
    // different convolution kernels on the native backend)
    const [inBatch, single] = [out.predictions[0] as Prediction, alone.predictions[0] as Prediction];
    assert.deepEqual(
      inBatch.top.map((t) => t.class),
      single.top.map((t) => t.class),
    );
    inBatch.top.forEach((t, j) => assert.ok(Math.abs(t.probability - single.top[j].probability) < 1e-6));
    assert.equal((out.predictions[3] as Prediction).top.length, 5);
  }
  const text = run('predict', '--model', 'p.onnx', '--input', 'notes.txt', 'colour.png');
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^notes\.txt\n {2}not predicted: notes\.txt: not a PNG or JPEG file\ncolour\.png\nrank/,
  );
  expectBadInput(
    run('predict', '--model', 'p.onnx', '--input', 'notes.txt'),
    /no image could be predicted: notes\.txt: not a PNG or JPEG file$/,
  );
  const none = run('predict', '--model', 'p.onnx', '--input', 'nope.png', 'notes.txt', '--json');
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /no image could be predicted: cannot read image nope\.png \(ENOENT\) \(and 1 more; see each entry\)/,
  );
  assert.equal(
    (JSON.parse(none.stdout) as PredictResult).predictions.length,
    2,
    'the entries, not an error object',
  );
  fs.writeFileSync(path.join(dir, 'junk.onnx'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  expectBadInput(
    run('predict', '--model', 'junk.onnx', '--input', 'colour.png'),
    /junk\.onnx: not an ONNX model/,
  );
  expectBadInput(
    run('predict', '--model', 'p.onnx', '--input', 'colour.png', '--top', '11'),
    /--top must be an integer in 1\.\.10/,
  );
});
