import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { DataError } from '../types.js';
import { datasetInfo, openDataset } from '../registry.js';
import {
  rmDir,
  tmpDir,
  writeCifar10Folder,
  writeCifar100Folder,
  writeDvsFolder,
} from './fixture-files.test-support.js';

test('registry: the readers are plugged in and take their extra options', async () => {
  const root = tmpDir('reg');
  try {
    writeCifar10Folder(root, 1, 2);
    writeCifar100Folder(root, 3, 1);
    const c10 = await openDataset('cifar10', { strict: false, split: 'test', dataDir: root });
    assert.equal(c10.count, 2);
    assert.equal(datasetInfo('cifar10').locate?.(root), path.resolve(root, 'cifar-10-batches-bin'));
    assert.equal(datasetInfo('cifar10').locate?.(path.join(root, 'nothing')), null);
    const coarse = await openDataset('cifar100', {
      strict: false,
      split: 'train',
      dataDir: root,
      labels: 'coarse',
    });
    assert.equal(coarse.classes, 20);
    await assert.rejects(
      openDataset('cifar100', { strict: false, split: 'train', dataDir: root, labels: 'medium' }),
      (e: unknown) => e instanceof DataError && /labels/.test(e.message),
    );
    const dvs = path.join(root, 'dvs');
    writeDvsFolder(dvs, ['a', 'b'], 2, 10);
    const d = await openDataset('cifar10-dvs', {
      strict: false,
      split: 'test',
      dataDir: dvs,
      frames: 2,
      size: 16,
      cacheDir: path.join(root, 'cache'),
    });
    assert.deepEqual(d.shape, [16, 16, 4]);
    assert.equal(d.count, 2);
    await assert.rejects(
      openDataset('cifar10-dvs', { strict: false, split: 'test', dataDir: dvs, frames: 'two' }),
      DataError,
    );
    await assert.rejects(
      openDataset('imagefolder', { split: 'test', dataDir: path.join(root, 'none') }),
      DataError,
    );
    await assert.rejects(
      openDataset('tinyimagenet', { strict: false, split: 'test', dataDir: root }),
      /no TinyImageNet data/,
    );
  } finally {
    rmDir(root);
  }
});
