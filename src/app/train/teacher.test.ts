/**
 * `stcsnn train --distill-from`: the teacher is loaded when it takes the run's inputs and
 * predicts its classes, and refused in one line naming what does not match otherwise; a
 * distilled run trains, and its weights differ from the undistilled run's.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { loadModel, META_KEYS, saveModel } from '../../lib/interop/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../../lib/interop/safetensors.js';
import { buildNetwork, type ArchConfig } from '../../lib/nn/models.js';
import { openTeacher } from './teacher.js';
import { TINY_RUN, runCli } from '../cli/cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const NORM = { scale: 255, mean: [0.5], std: [0.25] };
const ANN: ArchConfig = {
  arch: 'vgg11',
  mode: 'ann',
  width: 0.125,
  inputShape: [28, 28, 1],
  classes: 10,
  stc: stcConfig({}),
  path: 'fused',
};

before(async () => {
  await initBackend(backend as BackendRequest);
});

async function modelFile(dir: string, config: ArchConfig, normalization = NORM): Promise<string> {
  const file = join(dir, `${config.arch}-${config.classes}-${config.inputShape.join('x')}.safetensors`);
  const net = buildNetwork(config, 1);
  await saveModel(file, net, { normalization });
  net.dispose();
  return file;
}

test('openTeacher: loads a matching network (another arch too), refuses each mismatch in one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-teacher-'));
  try {
    const ds = { shape: [28, 28, 1] as const, classes: 10 };
    const ok = await openTeacher(await modelFile(dir, ANN), ds, NORM);
    assert.equal(ok.config.arch, 'vgg11');
    ok.dispose();
    const other = await openTeacher(
      await modelFile(dir, { ...ANN, arch: 'resnet18', mode: 'stc' }),
      ds,
      NORM,
    );
    assert.equal(other.config.arch, 'resnet18');
    other.dispose();
    await assert.rejects(openTeacher(await modelFile(dir, { ...ANN, classes: 7 }), ds, NORM), {
      message: /^--distill-from \S+: the teacher predicts 7 classes, this run's data set has 10$/,
    });
    await assert.rejects(openTeacher(await modelFile(dir, { ...ANN, inputShape: [32, 32, 1] }), ds, NORM), {
      message: /the teacher takes inputs 32x32x1, this run's data set 28x28x1$/,
    });
    await assert.rejects(openTeacher(await modelFile(dir, ANN, { ...NORM, std: [0.3] }), ds, NORM), {
      message: /the teacher was trained on inputs normalised as .*"std":\[0.3\].*, this run normalises as/,
    });
    await assert.rejects(openTeacher(join(dir, 'missing'), ds, NORM), {
      message: /^--distill-from .*missing does not exist/,
    });
    writeFileSync(join(dir, 'x.onnx'), 'onnx');
    await assert.rejects(openTeacher(join(dir, 'x.onnx'), ds, NORM), {
      message: /an ONNX model cannot teach/,
    });
    writeFileSync(join(dir, 'junk.safetensors'), 'not a model at all');
    await assert.rejects(openTeacher(join(dir, 'junk.safetensors'), ds, NORM), {
      message: /^--distill-from /,
    });
    // the header is checked before the weights are read: a 7-class header over a 10-class
    // network's tensors (which would not load) is refused for its classes
    const ten = decodeSafetensors(new Uint8Array(readFileSync(await modelFile(dir, ANN))), 'ten');
    const config = JSON.parse(ten.metadata[META_KEYS.config]);
    const liar = join(dir, 'liar.safetensors');
    writeFileSync(
      liar,
      encodeSafetensors(ten.tensors, {
        ...ten.metadata,
        [META_KEYS.config]: JSON.stringify({ ...config, classes: 7 }),
      }),
    );
    await assert.rejects(loadModel(liar));
    await assert.rejects(openTeacher(liar, ds, NORM), {
      message: /^--distill-from \S+: the teacher predicts 7 classes, this run's data set has 10$/,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const run = (...args: string[]) => runCli(args, { timeout: 300_000 });

test('stcsnn train --distill-from: trains from the teacher (weights differ from the plain run), bad flags exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-distill-'));
  try {
    const small = ['--arch', 'vgg11', ...TINY_RUN];
    const common = [...small, '--batch-size', '16', '--backend', backend, '--threads', '1'];
    assert.equal(run('train', '--mode', 'ann', ...common, '--out', join(dir, 'ann')).code, 0);
    const plain = run('train', '--T', '2', ...common, '--out', join(dir, 'plain'));
    assert.equal(plain.code, 0, plain.stderr);
    const d = run(
      'train',
      '--T',
      '2',
      ...common,
      '--distill-from',
      join(dir, 'ann'),
      '--distill-alpha',
      '0.9',
      '--out',
      join(dir, 'kd'),
    );
    assert.equal(d.code, 0, d.stderr);
    const config = JSON.parse(readFileSync(join(dir, 'kd', 'config.json'), 'utf8'));
    assert.equal(config.distillAlpha, 0.9);
    // the parameters (not the header, which holds timings) differ
    const params = (r: string) => {
      const { tensors } = decodeSafetensors(
        new Uint8Array(readFileSync(join(dir, r, 'last.safetensors'))),
        r,
      );
      return Object.keys(tensors)
        .filter((k) => !k.startsWith('optimizer.'))
        .sort()
        .map((k) =>
          Buffer.from(
            tensors[k].data.buffer,
            tensors[k].data.byteOffset,
            tensors[k].data.byteLength,
          ).toString('hex'),
        );
    };
    const [kd, pl] = [params('kd'), params('plain')];
    assert.equal(kd.length, pl.length);
    assert.ok(
      kd.some((h, i) => h !== pl[i]),
      'distillation changed the weights',
    );
    const bad = run('train', ...common, '--distill-temperature', '2', '--out', join(dir, 'bad'));
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--distill-alpha and --distill-temperature weigh a teacher: they need --distill-from/,
    );
    const neg = run(
      'train',
      ...common,
      '--distill-from',
      join(dir, 'ann'),
      '--distill-alpha',
      '1.5',
      '--out',
      join(dir, 'bad'),
    );
    assert.equal(neg.code, 2);
    assert.match(neg.stderr, /distill-alpha/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
