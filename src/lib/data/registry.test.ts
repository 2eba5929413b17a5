import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from './loader.js';
import {
  DATASET_NAMES,
  datasetInfo,
  DEFAULT_DATASET,
  limitDataset,
  normalizationFor,
  openDataset,
  registerDataset,
  sampleShape,
} from './registry.js';
import { DataError } from './types.js';

test('registry: every name has an entry with consistent defaults', () => {
  assert.equal(DEFAULT_DATASET, 'fashion-mnist-mini');
  assert.deepEqual([...DATASET_NAMES].sort(), [
    'cifar10',
    'cifar10-dvs',
    'cifar100',
    'fashion-mnist',
    'fashion-mnist-mini',
    'imagefolder',
    'tinyimagenet',
  ]);
  for (const name of DATASET_NAMES) {
    const e = datasetInfo(name);
    assert.equal(e.name, name);
    const C = e.shape[2];
    for (const v of [e.normalization.mean, e.normalization.std])
      assert.ok(v.length === 1 || v.length === C, name);
    assert.ok(e.normalization.std.every((s) => s > 0));
    assert.ok(e.theta0 > 0);
  }
  assert.deepEqual(datasetInfo('fashion-mnist').normalization, { scale: 255, mean: [0.286], std: [0.353] });
  assert.deepEqual(datasetInfo('cifar10').normalization.mean, [0.4914, 0.4822, 0.4465]);
  assert.deepEqual(datasetInfo('cifar100').normalization.std, [0.2673, 0.2564, 0.2762]);
  assert.deepEqual(datasetInfo('tinyimagenet').normalization.mean, [0.4802, 0.4481, 0.3975]);
  assert.deepEqual(datasetInfo('cifar10').augment, { crop: 4, flip: true });
  assert.deepEqual(datasetInfo('fashion-mnist-mini').augment, { crop: 2, flip: true });
  assert.equal(datasetInfo('cifar10-dvs').augment, null);
  assert.equal(datasetInfo('cifar10-dvs').theta0, 2);
  assert.equal(datasetInfo('cifar10').theta0, 0.8);
});

test('registry: an unknown name is a DataError listing the known names', async () => {
  assert.throws(
    () => datasetInfo('mnist'),
    (e: unknown) =>
      e instanceof DataError &&
      /unknown data set 'mnist'; known: fashion-mnist-mini, fashion-mnist, cifar10/.test(e.message),
  );
  await assert.rejects(openDataset('nope', { split: 'train' }), DataError);
  await assert.rejects(openDataset('fashion-mnist-mini', { split: 'train', limit: -1 }), DataError);
});

test('registry: opens the embedded default with a limit and feeds a loader', async () => {
  const ds = await openDataset('fashion-mnist-mini', { split: 'test', limit: 50 });
  assert.equal(ds.count, 50);
  const info = datasetInfo('fashion-mnist-mini');
  const l = new DataLoader(ds, {
    batchSize: 32,
    shuffle: true,
    augment: info.augment,
    normalization: info.normalization,
    seed: 3,
  });
  let n = 0;
  for await (const b of l.epoch(0)) {
    n += b.size;
    assert.equal(b.x.length, b.size * 784);
    assert.ok(b.x.every(Number.isFinite));
  }
  assert.equal(n, 50);
});

test('registry: entries can be added; limitDataset applies a limit readers ignore', async () => {
  const inner = await openDataset('fashion-mnist-mini', { split: 'test' });
  registerDataset({ ...datasetInfo('fashion-mnist-mini'), name: 'test-extra', open: () => inner });
  const ds = await openDataset('test-extra', { split: 'test', limit: 7 });
  assert.equal(ds.count, 7);
  assert.deepEqual(Array.from(ds.labels), Array.from(inner.labels.subarray(0, 7)));
  assert.throws(() => ds.read(7, new Float32Array(784), 0), RangeError);
  assert.equal(limitDataset(inner, 1e9), inner);
});

test("registry: normalisation for the samples' channel count (luminance of RGB statistics for 1 channel)", () => {
  const rgb = datasetInfo('imagefolder').normalization;
  assert.equal(normalizationFor(rgb, 3), rgb, 'one value per channel: unchanged');
  const one = { scale: 1, mean: [0], std: [1] };
  assert.equal(normalizationFor(one, 4), one, 'one value for all channels: unchanged');
  const y = normalizationFor(rgb, 1);
  const luma = (v: readonly number[]) => 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
  assert.equal(y.scale, rgb.scale);
  assert.deepEqual(y.mean, [luma(rgb.mean)]);
  assert.deepEqual(y.std, [luma(rgb.std)]);
  assert.ok(Math.abs(y.mean[0] - 0.459) < 1e-3 && Math.abs(y.std[0] - 0.2256) < 1e-3);
  assert.throws(() => normalizationFor({ scale: 1, mean: [0, 0], std: [1, 1] }, 3), DataError);
});

test("registry: the sample shape under a data set's options (CIFAR10-DVS frames and size), nothing opened", () => {
  assert.deepEqual(sampleShape('cifar10'), [32, 32, 3]);
  assert.deepEqual(sampleShape('cifar10', { frames: 4 }), [32, 32, 3]);
  assert.deepEqual(sampleShape('cifar10-dvs'), [128, 128, 2]);
  assert.deepEqual(sampleShape('cifar10-dvs', { frames: 4 }), [128, 128, 8]);
  assert.deepEqual(sampleShape('cifar10-dvs', { frames: 2, size: 48 }), [48, 48, 4]);
  assert.throws(() => sampleShape('cifar10-dvs', { frames: 0 }), DataError);
  assert.throws(() => sampleShape('cifar10-dvs', { frames: '2' }), DataError);
  assert.throws(() => sampleShape('nope'), DataError);
});
