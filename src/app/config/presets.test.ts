import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../lib/core/config.js';
import { DATASET_NAMES } from '../../lib/data/registry.js';
import { flattenConfig } from './config.js';
import {
  CPU_BUDGET,
  PAPER_PROTOCOL,
  presetDescription,
  PRESET_NAMES,
  presetValues,
  type PaperDataset,
} from './presets.js';
import { resolveTrainConfig } from './resolve.js';

/** A resolved configuration's values by dotted path, with `repeats`. */
function valuesOf(r: ReturnType<typeof resolveTrainConfig>): Record<string, unknown> {
  return { ...flattenConfig(r.config), repeats: r.repeats };
}

test("--preset paper resolves to the paper's protocol table for every data set it covers", () => {
  const paperTheta0: Record<string, number> = { 'cifar10-dvs': 2 };
  const expectedEpochs: Record<PaperDataset, number> = {
    'fashion-mnist-mini': 100,
    'fashion-mnist': 100,
    cifar10: 300,
    cifar100: 300,
    tinyimagenet: 200,
    'cifar10-dvs': 50,
  };
  for (const dataset of Object.keys(PAPER_PROTOCOL) as PaperDataset[]) {
    const p = PAPER_PROTOCOL[dataset];
    const r = resolveTrainConfig({ given: { dataset }, preset: 'paper' });
    const v = valuesOf(r);
    for (const [path, want] of Object.entries(presetValues('paper', dataset))) {
      assert.deepEqual(v[path], want, `${dataset}: ${path}`);
      assert.equal(r.sources[path], 'preset', `${dataset}: source of ${path}`);
    }
    // the table itself, against the paper (§4.2, Table 1)
    assert.equal(p.epochs, expectedEpochs[dataset], dataset);
    assert.equal(p.lrSchedule, dataset.startsWith('fashion-mnist') ? 'step' : 'cosine', dataset);
    assert.deepEqual(
      [p.batchSize, p.lr, p.momentum, p.weightDecay, p.T, p.tau, p.repeats],
      [32, 0.1, 0.9, 5e-4, 8, 2, 5],
    );
    assert.deepEqual([r.config.stepEvery, r.config.stepGamma], [20, 0.5]);
    // theta0: the data set's default (registry), which is the paper's
    assert.equal(r.config.stc.theta0, paperTheta0[dataset] ?? 0.8, dataset);
    assert.equal(r.sources['stc.theta0'], 'dataset');
  }
});

test('a value given beside a preset wins over it; the rest still come from the preset', () => {
  const r = resolveTrainConfig({
    given: { dataset: 'cifar10', epochs: 3, 'stc.T': 4, 'stc.theta0': 1.5, lrSchedule: 'constant' },
    preset: 'paper',
  });
  assert.equal(r.config.epochs, 3);
  assert.equal(r.config.stc.T, 4);
  assert.equal(r.config.stc.theta0, 1.5);
  assert.equal(r.config.lrSchedule, 'constant');
  for (const p of ['epochs', 'stc.T', 'stc.theta0', 'lrSchedule']) assert.equal(r.sources[p], 'flag', p);
  assert.equal(r.repeats, 5);
  assert.equal(r.sources.repeats, 'preset');
  assert.equal(r.config.width, 1);
});

test('--preset cpu sets its budget on every data set', () => {
  for (const dataset of DATASET_NAMES) {
    const v = valuesOf(resolveTrainConfig({ given: { dataset }, preset: 'cpu' }));
    for (const [path, want] of Object.entries(CPU_BUDGET)) assert.equal(v[path], want, `${dataset}: ${path}`);
  }
});

test('an unknown preset, or one for a data set it does not cover, is a one-line ConfigError', () => {
  assert.deepEqual(PRESET_NAMES, ['paper', 'cpu']);
  assert.throws(
    () => resolveTrainConfig({ preset: 'fast' }),
    (e: unknown) => e instanceof ConfigError && /^unknown preset 'fast'; known: paper, cpu$/.test(e.message),
  );
  assert.throws(
    () => resolveTrainConfig({ given: { dataset: 'imagefolder' }, preset: 'paper' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^preset paper does not cover data set imagefolder \(it covers .*cifar10-dvs\)$/.test(e.message),
  );
});

test('without a preset: schema defaults, the data set theta0, every field with a source', () => {
  const r = resolveTrainConfig({ given: { dataset: 'cifar10-dvs' } });
  assert.equal(r.config.stc.theta0, 2);
  assert.equal(r.sources['stc.theta0'], 'dataset');
  assert.equal(r.config.epochs, 5);
  assert.equal(r.sources.epochs, 'default');
  assert.equal(r.repeats, 1);
  assert.ok(['dataDir', 'limitTrain', 'timeBudget', 'stc.gradient', 'repeats'].every((p) => p in r.sources));
  // a value out of range names what set it
  assert.throws(
    () => resolveTrainConfig({ given: { width: 5 }, nameOf: (p) => `--${p}` }),
    /^ConfigError: --width must be in \(0, 4\], got 5$/,
  );
  assert.throws(
    () => resolveTrainConfig({ given: { 'stc.theta0': -1 }, nameOf: () => '--theta0' }),
    /^ConfigError: --theta0 must be > 0, got -1$/,
  );
});

test('a preset’s description is rendered from its values, by flag, per data set where they differ', () => {
  assert.equal(
    presetDescription('cpu'),
    'a CPU budget: --arch vgg11, --width 0.25, --epochs 20, --lr-schedule cosine, --time-budget 900, --repeats 1',
  );
  const paper = presetDescription('paper');
  assert.match(
    paper,
    /--epochs 100 \(fashion-mnist-mini, fashion-mnist\) \/ 300 \(cifar10, cifar100\) \/ 200 \(tinyimagenet\) \/ 50 \(cifar10-dvs\)/,
  );
  for (const part of [
    '--T 8',
    '--tau 2',
    '--batch-size 32',
    '--gradient relu',
    '--learn-theta off',
    'no --nesterov',
    'stepEvery 20',
  ])
    assert.ok(paper.includes(part), part);
});
