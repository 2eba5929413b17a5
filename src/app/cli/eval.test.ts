import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { archFor } from '../train/train.js';
import { saveCheckpoint } from '../rundir/checkpoint.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import { hashedConfig } from '../config/config-hash.js';
import { runFile } from '../rundir/layout.js';
import { runCli } from './cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const dir = mkdtempSync(join(tmpdir(), 'stcsnn-evalarch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runCli([...args, '--backend', backend], { timeout: 120_000 });

/** A run directory whose config.json says vgg11 but whose checkpoints are a resnet18's. */
before(async () => {
  await initBackend(backend as BackendRequest);
  const vgg: TrainConfig = { ...TRAIN_DEFAULTS, width: 0.125, epochs: 2, limitTrain: 32, limitTest: 16 };
  const resnet: TrainConfig = { ...vgg, arch: 'resnet18', width: 0.0625, stc: { ...vgg.stc, T: 4 } };
  const net = buildNetwork(archFor(resnet, { shape: [28, 28, 1], classes: 10 }), 0);
  const state = { epoch: 0, bestAccuracy: 0.1, bestEpoch: 0, trainSeconds: 1 };
  for (const f of ['best', 'last'] as const)
    saveCheckpoint(runFile(dir, f), net, hashedConfig(resnet), state);
  net.dispose();
  writeFileSync(runFile(dir, 'config'), JSON.stringify(vgg));
  writeFileSync(runFile(dir, 'log'), '');
});

test("eval refuses a checkpoint of another network than its run's config.json, naming both", () => {
  const r = run('eval', '--checkpoint', dir, '--limit', '8');
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    `stcsnn: error: ${runFile(dir, 'best')} is a resnet18 checkpoint (width 0.0625, T 4), its run's config.json says vgg11 (width 0.125, T 8)`,
  );
  // the file alone (copied out of the run) is self-describing: evaluated as what it says it is
  const loose = mkdtempSync(join(tmpdir(), 'stcsnn-evalloose-'));
  try {
    const copy = join(loose, 'model.safetensors');
    copyFileSync(runFile(dir, 'best'), copy);
    const ok = run('eval', '--checkpoint', copy, '--limit', '8', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as {
      arch: string;
      spike_stats: { layer: string }[];
      stcb: { layer: string; samples: number; bn: { layer: string } | null }[];
    };
    assert.equal(out.arch, 'resnet18');
    // the runaway monitor's figures: one per STCB layer, on the 8 samples, each fed by a batch norm
    assert.deepEqual(
      out.stcb.map((f) => f.layer),
      out.spike_stats.map((s) => s.layer),
    );
    assert.ok(out.stcb.every((f) => f.samples === 8 && f.bn !== null));
    assert.equal(out.stcb.find((f) => f.layer === 'layer2.0.shortcut')?.bn?.layer, 'layer2.0.bn1');
  } finally {
    rmSync(loose, { recursive: true, force: true });
  }
});

test('train --resume with a checkpoint of another architecture says so in one short line', () => {
  const r = run('train', '--resume', dir);
  assert.equal(r.code, 2, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('stcsnn: error:')) ?? '';
  assert.match(
    line,
    /is a resnet18 checkpoint \(width 0\.0625, T 4\), this run is vgg11 \(width 0\.125, T 8\)$/,
  );
  assert.ok(line.length < 300, `${line.length} characters`);
});

test('eval: --data-dir is refused for the embedded data set', () => {
  const loose = mkdtempSync(join(tmpdir(), 'stcsnn-evaldir-'));
  try {
    copyFileSync(runFile(dir, 'best'), join(loose, 'm.safetensors'));
    const r = run('eval', '--checkpoint', join(loose, 'm.safetensors'), '--data-dir', loose);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--data-dir does not apply to fashion-mnist-mini \(it is embedded/);
  } finally {
    rmSync(loose, { recursive: true, force: true });
  }
});
