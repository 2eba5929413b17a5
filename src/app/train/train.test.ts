import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { TRAIN_DEFAULTS, checkTrainConfig, type TrainConfig } from '../config/config.js';
import { learningRate } from '../../lib/train/lr-schedule.js';
import { summarizeRepeats } from '../rundir/repeats-file.js';
import { train } from './train.js';
import type { Provenance } from '../rundir/provenance.js';
import { buildInfo } from '../../lib/util/build-info.js';
import { runCli } from '../cli/cli-run.test-support.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;

before(async () => {
  await initBackend(backend);
});

const tiny: TrainConfig = {
  ...TRAIN_DEFAULTS,
  width: 0.125,
  epochs: 2,
  limitTrain: 320,
  limitTest: 50,
  stc: stcConfig({ T: 4 }),
  seed: 7,
};

describe('train', () => {
  test('a short run writes a complete run directory and learns something', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stcsnn-run-'));
    const r = await train(tiny, { runDir: dir, backend });
    for (const f of ['config.json', 'log.jsonl', 'last.safetensors', 'best.safetensors', 'result.json']) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(log.length, 2);
    assert.ok(log[1].train_loss < Math.log(10), `train loss ${log[1].train_loss} below chance level ln 10`);
    assert.ok(log[1].train_loss < log[0].train_loss, 'training loss decreases');
    assert.ok(r.test_accuracy > 0.15, `accuracy ${r.test_accuracy} above chance (0.1)`);
    assert.equal(r.fire_rates.length, 7, 'one fire rate per STCB of VGG11');
    // the runaway monitor's figures in every epoch line, one per STCB, on the 50 test samples
    for (const m of log) {
      assert.deepEqual(
        m.stcb.map((f: { layer: string }) => f.layer),
        r.fire_rates.map((f) => f.layer),
      );
      assert.equal(m.stcb[0].samples, 50);
      assert.equal(m.stcb[0].bn.layer, 'stem_bn');
      assert.equal(m.warning, undefined, 'a healthy run does not warn');
    }
    // what made it: this build, this machine, the data read (config.json at the start, result.json at the end)
    const started = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).provenance as Provenance;
    assert.deepEqual(started.code, buildInfo());
    assert.equal(started.machine.backend, backend);
    assert.equal(started.machine.cores, availableParallelism());
    assert.deepEqual(
      [started.data.source, started.data.train_samples, started.data.test_samples],
      ['embedded', 320, 50],
    );
    assert.match(started.data.labels_sha256, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(r.provenance?.data, started.data);
    assert.deepEqual(r.provenance?.changed_since_start, []);
    assert.ok(r.fire_rates.every((f) => f.rate >= 0 && f.rate <= 1));
    assert.equal(
      r.confusion.flat().reduce((a, b) => a + b, 0),
      50,
    );
    assert.deepEqual(
      checkTrainConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json'),
      tiny,
    );
  });

  test('a run whose STCB inputs exceed 10 S warns once, in the log and through the hook', async () => {
    // theta0 0.05: S = 0.11 (T 4), so the batch norm's unit-scale outputs sit far above 10 S
    // (a tiny learning rate keeps them there, and keeps the gradients finite)
    const dir = mkdtempSync(join(tmpdir(), 'stcsnn-warn-'));
    const warnings: string[] = [];
    await train(
      { ...tiny, lr: 1e-6, stc: stcConfig({ T: 4, theta0: 0.05 }) },
      { runDir: dir, backend, hooks: { onWarning: (w) => warnings.push(w) } },
    );
    const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /STCB inputs run away in \S+ \(epoch 1\).*--gradient clipped/);
    assert.equal(log[0].warning, warnings[0]);
    assert.equal(log[1].warning, undefined, 'once per run');
  });

  test("onEpochEnd returning 'stop' ends training there and finishes the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stcsnn-stop-'));
    const seen: number[] = [];
    const r = await train(
      { ...tiny, epochs: 3, limitTrain: 64 },
      {
        runDir: dir,
        backend,
        hooks: {
          onEpochEnd: (m) => {
            seen.push(m.epoch);
            return 'stop';
          },
        },
      },
    );
    assert.deepEqual(seen, [0]);
    assert.equal(r.epochs, 1);
    assert.equal(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').length, 1);
    assert.equal(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')).epochs, 1);
  });

  test('resume after each epoch reproduces an uninterrupted run exactly', async () => {
    const full = mkdtempSync(join(tmpdir(), 'stcsnn-full-'));
    const parts = mkdtempSync(join(tmpdir(), 'stcsnn-parts-'));
    const a = await train({ ...tiny, epochs: 3 }, { runDir: full, backend });
    // Interrupted after the first epoch (as a crash would), then resumed twice.
    const interrupt = (after: number) => ({
      onEpochEnd: (m: { epoch: number }) => {
        if (m.epoch === after) throw new Error('interrupted');
      },
    });
    await assert.rejects(
      train({ ...tiny, epochs: 3 }, { runDir: parts, backend, hooks: interrupt(0) }),
      /interrupted/,
    );
    await assert.rejects(
      train({ ...tiny, epochs: 3 }, { runDir: parts, backend, resume: true, hooks: interrupt(1) }),
      /interrupted/,
    );
    const b = await train({ ...tiny, epochs: 3 }, { runDir: parts, backend, resume: true });
    assert.equal(b.epochs, 3);
    assert.equal(a.test_accuracy, b.test_accuracy);
    assert.deepEqual(
      readFileSync(join(full, 'last.safetensors')).subarray(-4096),
      readFileSync(join(parts, 'last.safetensors')).subarray(-4096),
    );
    const la = readFileSync(join(full, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).test_accuracy);
    const lb = readFileSync(join(parts, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).test_accuracy);
    assert.deepEqual(la, lb);
  });
});

describe('schedules and repeats', () => {
  test('cosine decays from lr to 0; step halves every 20 epochs', () => {
    const cos = { name: 'cosine' as const, lr: 0.1, stepEvery: 20, stepGamma: 0.5 };
    assert.equal(learningRate(cos, 0, 0, 10, 5), 0.1);
    assert.ok(Math.abs(learningRate(cos, 2, 5, 10, 5) - 0.05) < 1e-12);
    assert.ok(learningRate(cos, 4, 9, 10, 5) < 0.001);
    const step = { ...cos, name: 'step' as const };
    assert.equal(learningRate(step, 19, 0, 10, 100), 0.1);
    assert.equal(learningRate(step, 20, 0, 10, 100), 0.05);
    assert.equal(learningRate(step, 45, 3, 10, 100), 0.025);
  });
  test('repeat summary: mean, sample stddev, best', () => {
    const s = summarizeRepeats([{ test_accuracy: 0.9 }, { test_accuracy: 0.92 }, { test_accuracy: 0.94 }]);
    assert.ok(Math.abs(s.mean - 0.92) < 1e-12);
    assert.ok(Math.abs(s.stddev - 0.02) < 1e-12);
    assert.equal(s.best, 0.94);
  });
});

describe('stcsnn train: bad input', () => {
  const run = (...args: string[]) => runCli(['train', '--backend', 'wasm', ...args]);
  const cases: [string[], RegExp][] = [
    [['--arch', 'alexnet'], /--arch must be one of vgg11, vgg16, resnet18; got 'alexnet'/],
    [['--dataset', 'mnist'], /--dataset must be one of/],
    [['--width', '0'], /--width must be in \(0, 4\]/],
    [['--epochs', '1.5'], /--epochs must be an integer/],
    [['--T', '100'], /T must be an integer in 1\.\.64/],
    [['--resume', '/nonexistent-run'], /--resume: \/nonexistent-run has no config.json/],
  ];
  for (const [args, re] of cases) {
    test(args.join(' '), () => {
      const r = run(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
  test('refuses a non-empty --out without --force, and a corrupt config on --resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stcsnn-out-'));
    writeFileSync(join(dir, 'config.json'), '{"dataset": 3}');
    const r = run('--out', dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists and is not empty/);
    const r2 = runCli(['train', '--resume', dir]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /config\.json: dataset: /);
  });
});
