import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STC_DEFAULTS, stcConfig } from '../../lib/core/config.js';
import {
  checkTrainConfig,
  configPaths,
  DEFAULT_VALUES,
  flattenConfig,
  TRAIN_DEFAULTS,
  trainConfigSchema,
  trainerStc,
  unflattenConfig,
} from './config.js';

test('the defaults are the schema’s, the STC block’s are the core’s but for the trainer’s method', () => {
  assert.deepEqual(TRAIN_DEFAULTS, trainConfigSchema.parse({}));
  assert.deepEqual(TRAIN_DEFAULTS.stc, { ...STC_DEFAULTS.paper, ...STC_DEFAULTS.trainer });
  assert.equal(TRAIN_DEFAULTS.epochs, 5);
  assert.equal(TRAIN_DEFAULTS.dataset, 'fashion-mnist-mini');
  assert.equal(DEFAULT_VALUES.repeats, 1);
  assert.equal(DEFAULT_VALUES['stc.T'], 8);
});

test('flatten and unflatten are inverse; configPaths lists every field', () => {
  const c = checkTrainConfig(
    JSON.parse(JSON.stringify({ ...TRAIN_DEFAULTS, datasetOptions: { labels: 'coarse' }, limitTest: 7 })),
    'x',
  );
  assert.deepEqual(unflattenConfig(flattenConfig(c)), JSON.parse(JSON.stringify(c)));
  const paths = configPaths(c);
  assert.ok(paths.includes('datasetOptions.labels') && paths.includes('timeBudget'));
  for (const p of Object.keys(flattenConfig(c))) assert.ok(paths.includes(p as never), p);
});

test('a run’s config.json must be complete (but may predate stc.gradient and syncBn)', () => {
  const full = JSON.parse(JSON.stringify(TRAIN_DEFAULTS)) as Record<string, unknown>;
  const { epochs: _epochs, ...noEpochs } = full;
  assert.throws(
    () => checkTrainConfig(noEpochs, 'run/config.json'),
    /^ConfigError: run\/config.json: epochs: missing$/,
  );
  const stc = { ...(full.stc as object) } as Record<string, unknown>;
  delete stc.tau;
  assert.throws(() => checkTrainConfig({ ...full, stc }, 'c'), /c: stc.tau: missing/);
  delete stc.gradient;
  delete stc.learnTheta;
  stc.tau = 2;
  // written before both fields: the ReLU mask with fixed thresholds, whatever today's default
  assert.deepEqual(
    (({ gradient, learnTheta }) => ({ gradient, learnTheta }))(checkTrainConfig({ ...full, stc }, 'c').stc),
    { gradient: 'relu', learnTheta: 'off' },
  );
  // runs written before --sync-bn existed trained with per-rank batch norm
  const { syncBn: _syncBn, ...noSyncBn } = full;
  assert.equal(checkTrainConfig(noSyncBn, 'c').syncBn, false);
  assert.throws(
    () => checkTrainConfig({ ...full, stc: { ...stc, T: 65 } }, 'c'),
    /^ConfigError: c: stc.T: T must be/,
  );
  assert.throws(() => checkTrainConfig({ ...full, stc: 3 }, 'c'), /^ConfigError: c: stc: /);
  assert.throws(() => checkTrainConfig({ ...full, mode: 'snn' }, 'c'), /^ConfigError: c: mode: /);
});

test('odd keys in a config.json give a ConfigError, never a TypeError (fuzz counterexample)', () => {
  const { dataset, ...rest } = JSON.parse(JSON.stringify(TRAIN_DEFAULTS)) as Record<string, unknown>;
  // a key renamed to "" and another to a dotted path: `dataset` is then missing
  const odd = { '': dataset, '../../etc': 'fused', 'stc.x': { '': 1 }, ...rest };
  assert.throws(() => checkTrainConfig(odd, 'c'), /^ConfigError: c: dataset: /);
});

test('learned thresholds go with the clipped mask: the default is fixed thresholds, learned ones refused with the ReLU mask', () => {
  // docs/results/method-choice decided the threshold mode
  assert.deepEqual(STC_DEFAULTS.trainer, { gradient: 'clipped' });
  assert.equal(STC_DEFAULTS.paper.learnTheta, 'off');
  // --gradient relu alone is the paper's method: fixed thresholds
  assert.equal(trainerStc({ gradient: 'relu' }).learnTheta, 'off');
  assert.equal(trainerStc({}).learnTheta, 'off');
  assert.equal(trainerStc({ learnTheta: 'channel' }).gradient, 'clipped');
  assert.equal(trainerStc({ learnTheta: 'layer' }).gradient, 'clipped');
  assert.throws(
    () => trainerStc({ gradient: 'relu', learnTheta: 'layer' }),
    /^ConfigError: learnTheta 'layer' needs the clipped gradient mask/,
  );
  assert.throws(
    () => stcConfig({ learnTheta: 'channel' }),
    (e: Error & { param?: string }) => e.param === 'learnTheta',
  );
  assert.throws(
    () => trainConfigSchema.parse({ stc: { gradient: 'relu', learnTheta: 'channel' } }),
    /needs the clipped gradient mask/,
  );
});
