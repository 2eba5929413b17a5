import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configFromFlags, interruptLine, resumeCommand, stoppedLine } from './train.js';

/** `configFromFlags` with the common flags' defaults. */
const flags = (f: Record<string, string>) => configFromFlags({ backend: 'auto', ...f });
import { openLoaders } from '../train/train.js';
import { pngBytes, rmDir, tmpDir } from '../../lib/data/readers/fixture-files.test-support.js';

test('train flags: data-set options reach the readers, and one for another data set is refused', () => {
  const { config } = flags({
    dataset: 'imagefolder',
    channels: '1',
    resize: '8',
    testFraction: '0.25',
  });
  assert.deepEqual(config.datasetOptions, { channels: 1, size: 8, testFraction: 0.25 });
  const dvs = flags({ dataset: 'cifar10-dvs', cacheDir: 'c', frames: '4' }).config;
  assert.deepEqual(dvs.datasetOptions, { frames: 4, cacheDir: path.resolve('c') });
  assert.throws(
    () => flags({ dataset: 'cifar10', channels: '1' }),
    /^UsageError: --channels applies to imagefolder, not cifar10$/,
  );
  assert.throws(() => flags({ dataset: 'fashion-mnist', labels: 'fine' }), /--labels applies to cifar100/);
  assert.throws(() => flags({ dataset: 'imagefolder', channels: '2' }), /--channels/);
  assert.throws(
    () => flags({ dataset: 'imagefolder', testFraction: '1' }),
    /--test-fraction must be in \(0, 1\)/,
  );
});

test('train: a luminance image folder trains with the luminance of the RGB statistics', async () => {
  const root = tmpDir('imgf-train');
  try {
    for (const [cls, v] of [
      ['a', 40],
      ['b', 200],
    ] as const) {
      for (let k = 0; k < 4; k++) {
        const file = path.join(root, cls, `i${k}.png`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(
          file,
          pngBytes(6, 6, 2, (y, x) => [v, v + x, v - y, 255]),
        );
      }
    }
    const { config } = flags({
      dataset: 'imagefolder',
      dataDir: root,
      channels: '1',
      resize: '4',
      batchSize: '2',
    });
    const { train, test: testLoader, trainSet, normalization } = await openLoaders(config);
    assert.deepEqual(trainSet.shape, [4, 4, 1]);
    assert.equal(normalization.mean.length, 1);
    assert.ok(Math.abs(normalization.mean[0] - 0.459) < 1e-3, `mean ${normalization.mean[0]}`);
    let batches = 0;
    try {
      for await (const b of train.epoch(0)) {
        assert.deepEqual(b.shape, [4, 4, 1]);
        assert.equal(b.x.length, b.size * 16);
        assert.ok(b.x.every((v) => Number.isFinite(v)));
        batches++;
      }
    } finally {
      await train.close();
      await testLoader.close();
    }
    assert.ok(batches > 0);
  } finally {
    rmDir(root);
  }
});

test('interrupted: the line names the command that continues the run, the launch command for a data-parallel run', () => {
  const info = { signal: 'SIGINT' as const, dir: '/r', checkpoint: { dir: '/r', epoch: 2 }, removed: false };
  assert.equal(
    interruptLine(info),
    'stcsnn: interrupted; saved the checkpoint of epoch 3 in /r; continue with: stcsnn train --resume /r',
  );
  assert.equal(
    interruptLine({ ...info, signal: 'SIGTERM' }, 2),
    'stcsnn: stopped (SIGTERM); saved the checkpoint of epoch 3 in /r; continue with: stcsnn launch --nproc 2 -- train --resume /r',
  );
  assert.equal(resumeCommand('/r', 4), 'stcsnn launch --nproc 4 -- train --resume /r');
  // a path a shell would split or expand is quoted (issue 33, minor)
  assert.equal(resumeCommand('/tmp/my run'), "stcsnn train --resume '/tmp/my run'");
  assert.equal(resumeCommand("/tmp/it's $HOME"), "stcsnn train --resume '/tmp/it'\\''s $HOME'");
});

test('stopped by the time budget: one line with a raised budget, the launch command for a data-parallel run (issue 33)', () => {
  const r = {
    runDir: '/tmp/my run',
    epochs: 1,
    epochs_asked: 3,
    stopped_by: 'time-budget' as const,
    train_seconds: 10.04,
    lastEpochSeconds: 12,
  };
  // 10.04 s trained, 2 epochs left at 12 s an epoch, half as much again: ceil(10.04 + 36) = 47
  assert.equal(
    stoppedLine(r, 5),
    "stcsnn train: stopped by --time-budget 5 after epoch 1 of 3 (10.0 s of training); continue with: stcsnn train --resume '/tmp/my run' --time-budget 47",
  );
  assert.equal(
    stoppedLine({ ...r, runDir: '/r' }, 5, 2),
    'stcsnn train: stopped by --time-budget 5 after epoch 1 of 3 (10.0 s of training); continue with: stcsnn launch --nproc 2 -- train --resume /r --time-budget 47',
  );
  assert.equal(stoppedLine({ ...r, stopped_by: null }, 5), null);
  assert.equal(stoppedLine({ ...r, stopped_by: 'early-stop' }, 5), null);
});
