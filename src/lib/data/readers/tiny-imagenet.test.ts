import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../types.js';
import { openTinyImageNet } from './tiny-imagenet.js';
import { rgbJpeg, rmDir, tmpDir, writeTinyImageNet } from './fixture-files.test-support.js';
import { verifyDataset } from './util.js';

test('TinyImageNet: wnids order, words, train folders, labelled val as test, grey expanded', async () => {
  const root = tmpDir('tin');
  try {
    const dir = writeTinyImageNet(root);
    const train = await openTinyImageNet({ strict: false, dataDir: root, split: 'train' });
    assert.deepEqual(train.shape, [64, 64, 3]);
    assert.deepEqual(train.classNames, ['goldfish', 'fire salamander']);
    assert.equal(train.count, 5);
    assert.deepEqual(Array.from(train.labels), [0, 0, 0, 1, 1]);
    const out = new Float32Array(64 * 64 * 3);
    await train.read(2, out, 0);
    assert.ok(Math.abs(out[0] - 80) <= 2 && Math.abs(out[1] - 100) <= 2 && Math.abs(out[2] - 200) <= 2);
    await train.read(4, out, 0);
    assert.ok(
      out.every((v) => Math.abs(v - 77) <= 1),
      'greyscale JPEG expanded to 3 equal channels',
    );
    const val = await openTinyImageNet({ strict: false, dataDir: dir, split: 'test' });
    assert.equal(val.count, 3);
    assert.deepEqual(Array.from(val.labels), [1, 0, 1]);
    await val.read(1, out, 0);
    // block (r=2, c=3) of the grey val image is 16*2+3 = 35 at every pixel and channel.
    const px = ((2 * 8 + 4) * 64 + 3 * 8 + 4) * 3;
    assert.deepEqual(Array.from(out.slice(px, px + 3)).map(Math.round), [35, 35, 35]);
    const rep = await verifyDataset(val);
    assert.deepEqual(rep.perClass, [1, 2]);
  } finally {
    rmDir(root);
  }
});

test('TinyImageNet errors: unknown class, missing or unannotated files, empty class, wrong size, bad JPEG', async () => {
  const root = tmpDir('tinbad');
  try {
    const dir = writeTinyImageNet(root);
    const ann = path.join(dir, 'val', 'val_annotations.txt');
    const good = fs.readFileSync(ann, 'latin1');
    const reject = async (split: 'train' | 'test', re: RegExp) =>
      assert.rejects(openTinyImageNet({ strict: false, dataDir: root, split }), (e: unknown) => {
        assert.ok(e instanceof DataError, String(e));
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    fs.writeFileSync(ann, good + 'val_3.JPEG\tn999\t0\t0\t1\t1\n');
    assert.equal(good.length, 79);
    await reject('test', /val_annotations\.txt: line 4 \(byte 79\): unknown class 'n999'/);
    fs.writeFileSync(ann, good + 'val_9.JPEG\tn001\t0\t0\t1\t1\n');
    await reject('test', /val_9\.JPEG: annotated in .* but missing/);
    fs.writeFileSync(ann, good.split('\r\n').slice(1).join('\r\n'));
    await reject('test', /val_0\.JPEG: not annotated/);
    fs.writeFileSync(ann, good);
    fs.mkdirSync(path.join(dir, 'train', 'n777', 'images'), { recursive: true });
    await reject('train', /n777: class not in wnids\.txt/);
    fs.rmSync(path.join(dir, 'train', 'n777'), { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, 'train', 'n002', 'images'))) {
      fs.renameSync(path.join(dir, 'train', 'n002', 'images', f), path.join(root, f));
    }
    await reject('train', /n002[\\/]images: class folder without images/);
    fs.writeFileSync(
      path.join(dir, 'train', 'n002', 'images', 'n002_0.JPEG'),
      rgbJpeg(32, 32, () => [1, 2, 3]),
    );
    const ds = await openTinyImageNet({ strict: false, dataDir: root, split: 'train' });
    await assert.rejects(verifyDataset(ds), /n002_0\.JPEG: image is 32x32, expected 64x64/);
    const bad = path.join(dir, 'train', 'n002', 'images', 'n002_0.JPEG');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(50, 7)]));
    const ds2 = await openTinyImageNet({ strict: false, dataDir: root, split: 'train' });
    await assert.rejects(
      verifyDataset(ds2),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${bad}: corrupt or truncated JPEG`),
    );
    await assert.rejects(
      openTinyImageNet({ strict: false, dataDir: path.join(root, 'none'), split: 'train' }),
      /no TinyImageNet data/,
    );
  } finally {
    rmDir(root);
  }
});

test('TinyImageNet strict mode: the official counts are required', async () => {
  const root = tmpDir('tinstrict');
  try {
    writeTinyImageNet(root);
    await assert.rejects(
      openTinyImageNet({ dataDir: root, split: 'train' }),
      /wnids\.txt: 2 classes, expected the official 200/,
    );
  } finally {
    rmDir(root);
  }
});
