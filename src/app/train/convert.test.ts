/**
 * `stcsnn train --init-from`: an ANN's state dict (stcsnn's, or written by the documented PyTorch
 * module) initialises an STC run; bad sources are refused in one line, writing nothing.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../lib/interop/safetensors.js';
import { stateDictOf } from '../../lib/interop/state-dict.js';
import { buildNetwork, type ArchConfig } from '../../lib/nn/models.js';
import { runCli } from '../cli/cli-run.test-support.js';

const TORCH_MODULE = fileURLToPath(
  new URL('../../../src/lib/interop/testdata/stcsnn_torch.py', import.meta.url),
);
const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
/** The network `stcsnn train` builds for fashion-mnist-mini at --width 0.25, as an ANN. */
const ANN: ArchConfig = {
  arch: 'vgg11',
  mode: 'ann',
  width: 0.25,
  inputShape: [28, 28, 1],
  classes: 10,
  stc: stcConfig({}),
  path: 'fused',
};
const SMALL = ['--limit-train', '64', '--limit-test', '64', '--batch-size', '16', '--backend', backend];

const run = (...args: string[]) => runCli(args, { timeout: 300_000 });

/** `stcsnn train --init-from FILE --epochs 0 --learn-theta LEARN [--T T] ...SMALL --out OUT [--json]`. */
function convert(file: string, learnTheta: string, out: string, opts: { T?: number; json?: boolean } = {}) {
  return run(
    'train',
    '--init-from',
    file,
    '--epochs',
    '0',
    '--learn-theta',
    learnTheta,
    ...(opts.T === undefined ? [] : ['--T', String(opts.T)]),
    ...SMALL,
    '--out',
    out,
    ...(opts.json ? ['--json'] : []),
  );
}

function tensorsOf(file: string) {
  const b = readFileSync(file);
  return decodeSafetensors(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), file).tensors;
}

let dir = '';
before(async () => {
  await initBackend(backend as BackendRequest);
  dir = mkdtempSync(join(tmpdir(), 'stcsnn-convert-'));
});

/** Every tensor of the ANN's state dict is in the converted run's model, bit for bit. */
function assertCopied(ann: Record<string, SafeTensor>, model: string): void {
  const got = tensorsOf(model);
  const values = (t: SafeTensor) => Array.from(t.data as ArrayLike<number | bigint>, String);
  for (const [name, t] of Object.entries(ann)) {
    assert.ok(got[name], `${name} missing in ${model}`);
    assert.deepEqual(values(got[name]), values(t), name);
  }
}

test('a plain safetensors state dict of the ANN converts: weights copied, thresholds calibrated, --epochs 0 evaluates', () => {
  const net = buildNetwork(ANN, 3);
  const sd = stateDictOf(net);
  net.dispose();
  const file = join(dir, 'ann.safetensors');
  writeFileSync(file, encodeSafetensors(sd));
  const out = join(dir, 'converted');
  const r = convert(file, 'layer', out, { T: 4, json: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /converted from .*ann\.safetensors: 7 STCB thresholds calibrated/);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    epochs: number;
    test_accuracy: number;
    conversion: {
      kind: string;
      calibrated: { layer: string; after: number[]; mseAfter: number; mseBefore: number }[];
    };
  };
  assert.equal(result.epochs, 0);
  assert.equal(result.conversion.kind, 'state_dict');
  assert.equal(result.conversion.calibrated.length, 7);
  for (const c of result.conversion.calibrated) assert.ok(c.mseAfter <= c.mseBefore, c.layer);
  assertCopied(sd, join(out, 'best.safetensors'));
  // the converted run is a model like any other, and fine-tunes by extending it
  const more = run('train', '--resume', out, '--epochs', '1', '--backend', backend, '--json');
  assert.equal(more.code, 0, more.stderr);
  assert.equal((JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { epochs: number }).epochs, 1);
});

test('an STC network re-encodes at another T: weights copied, its learned thresholds calibrated afresh or dropped', () => {
  // a trained STC run at T = 8 with thresholds per channel, as a model file
  const stc: ArchConfig = {
    ...ANN,
    mode: 'stc',
    stc: stcConfig({ gradient: 'clipped', learnTheta: 'channel' }),
  };
  const net = buildNetwork(stc, 4);
  const sd = stateDictOf(net);
  net.dispose();
  const file = join(dir, 'stc-t8.safetensors');
  writeFileSync(file, encodeSafetensors(sd));
  const withoutThresholds = Object.fromEntries(Object.entries(sd).filter(([k]) => !k.endsWith('.log_theta')));
  for (const learn of ['channel', 'off']) {
    const out = join(dir, `reencoded-${learn}`);
    const r = convert(file, learn, out, { T: 2 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /converted from .*stc-t8\.safetensors \(an STC network, re-encoded\)/);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      conversion: { from: string; calibrated: unknown[] };
    };
    assert.equal(result.conversion.from, 'stc');
    assert.equal(result.conversion.calibrated.length, learn === 'off' ? 0 : 7);
    assertCopied(withoutThresholds, join(out, 'best.safetensors'));
  }
});

test('bad sources: one line naming what does not match, exit 2, no run directory', () => {
  const net = buildNetwork({ ...ANN, classes: 5 }, 3);
  const other = join(dir, 'five-classes.safetensors');
  writeFileSync(other, encodeSafetensors(stateDictOf(net)));
  net.dispose();
  const cases: [string[], RegExp][] = [
    [['--init-from', other, '--epochs', '0'], /linear.*shape.*\[5,.*\[10,|classifier|5/],
    [['--init-from', join(dir, 'missing'), '--epochs', '0'], /--init-from .*missing does not exist/],
    [['--init-from', join(dir, 'x.onnx'), '--epochs', '0'], /ONNX model cannot be converted/],
    [['--epochs', '0'], /epochs 0 trains nothing: it is for --init-from/],
    [['--init-from', other, '--mode', 'ann', '--epochs', '0'], /needs --mode stc/],
  ];
  for (const [args, message] of cases) {
    const out = join(dir, `bad-${args.join('-').replace(/[^a-z0-9]/gi, '')}`);
    const r = run('train', ...args, ...SMALL, '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], message);
    assert.equal(existsSync(out), false, `${args.join(' ')} left ${out}`);
  }
});

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 }).status === 0,
);

test(
  'a state dict written by the documented PyTorch ANN module (docs/pytorch.md) converts the same way',
  { skip: python ? undefined : 'no Python with torch' },
  () => {
    const file = join(dir, 'torch-ann.safetensors');
    // the module of docs/pytorch.md, seeded, a few batch-norm statistics set, saved as safetensors
    const script = `
import json, struct, sys, torch
sys.path.insert(0, ${JSON.stringify(dirname(TORCH_MODULE))})
import stcsnn_torch
torch.manual_seed(0)
model = stcsnn_torch.build(json.loads(sys.argv[1]))
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.1, 0.1)
        m.running_var.uniform_(0.5, 1.5)
header, blobs, off = {}, [], 0
for k, v in model.state_dict().items():
    v = v.contiguous()
    b = v.numpy().tobytes()
    header[k] = {"dtype": {torch.float32: "F32", torch.int64: "I64"}[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
`;
    const w = spawnSync(python!, ['-c', script, JSON.stringify(ANN), file], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(w.status, 0, w.stderr);
    const out = join(dir, 'from-torch');
    const r = convert(file, 'channel', out, { json: true });
    assert.equal(r.code, 0, r.stderr);
    assertCopied(tensorsOf(file), join(out, 'best.safetensors'));
    rmSync(dir, { recursive: true, force: true });
  },
);
