import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../types.js';
import { openImageFolder } from './image-folder.js';
import { decodeImage, resizeHwc } from './image.js';
import { greyJpeg, pngBytes, rgbJpeg, rmDir, tmpDir } from './fixture-files.test-support.js';
import { verifyDataset } from './util.js';

function put(file: string, data: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

async function sample(ds: Awaited<ReturnType<typeof openImageFolder>>, i: number): Promise<Float32Array> {
  const out = new Float32Array(ds.shape[0] * ds.shape[1] * ds.shape[2]);
  await ds.read(i, out, 0);
  return out;
}

test('image folder: classes, deterministic split, PNG and JPEG, grey expanded, alpha dropped, resized', async () => {
  const root = tmpDir('imgf');
  try {
    // cat: 5 RGB PNGs 8x6 (w x h), the first sets the shape [6, 8, 3].
    for (let k = 0; k < 5; k++)
      put(
        path.join(root, 'cat', `img${k + 1}.png`),
        pngBytes(8, 6, 2, (y, x) => [k * 10 + x, y * 20, 7, 255]),
      );
    // dog: an RGBA PNG, a grey PNG, a greyscale JPEG (1 component), an RGB JPEG of another size.
    put(
      path.join(root, 'dog', 'a.png'),
      pngBytes(8, 6, 6, (y, x) => [100, 50 + x, 25 + y, x * 30]),
    );
    put(
      path.join(root, 'dog', 'b.PNG'),
      pngBytes(8, 6, 0, (y, x) => [x * 20, x * 20, x * 20, 255]),
    );
    put(
      path.join(root, 'dog', 'c.jpg'),
      greyJpeg(1, 1, () => 90),
    );
    put(
      path.join(root, 'dog', 'd.JPEG'),
      rgbJpeg(16, 12, () => [200, 100, 50]),
    );
    fs.writeFileSync(path.join(root, 'dog', 'notes.txt'), 'ignored');
    const train = await openImageFolder({ dataDir: root, split: 'train' });
    const testDs = await openImageFolder({ dataDir: root, split: 'test' });
    assert.deepEqual(train.classNames, ['cat', 'dog']);
    assert.deepEqual(train.shape, [6, 8, 3]);
    // 5 -> 4/1, 4 -> 4 - round(0.4) = 3 / 1 (at least one test image).
    assert.equal(train.count, 7);
    assert.equal(testDs.count, 2);
    assert.deepEqual(
      testDs.files.map((f) => path.basename(f)),
      ['img5.png', 'd.JPEG'],
    );
    // round-robin over the classes: cat img1, dog a, cat img2, dog b, cat img3, dog c, cat img4
    assert.deepEqual(Array.from(train.labels), [0, 1, 0, 1, 0, 1, 0]);
    assert.deepEqual(
      train.files.map((f) => path.basename(f)),
      ['img1.png', 'a.png', 'img2.png', 'b.PNG', 'img3.png', 'c.jpg', 'img4.png'],
    );
    const cat1 = await sample(train, 2);
    assert.deepEqual(Array.from(cat1.slice((2 * 8 + 3) * 3, (2 * 8 + 3) * 3 + 3)), [13, 40, 7]);
    const rgba = await sample(train, 1);
    assert.deepEqual(
      Array.from(rgba.slice((1 * 8 + 5) * 3, (1 * 8 + 5) * 3 + 3)),
      [100, 55, 26],
      'alpha dropped',
    );
    const grey = await sample(train, 3);
    assert.deepEqual(Array.from(grey.slice(4 * 3, 4 * 3 + 3)), [80, 80, 80]);
    const gj = await sample(train, 5);
    assert.ok(
      gj.every((v) => Math.abs(v - 90) <= 1),
      'greyscale JPEG expanded to three equal channels',
    );
    const big = await sample(testDs, 1);
    assert.equal(big.length, 6 * 8 * 3);
    assert.ok(Math.abs(big[0] - 200) <= 3 && Math.abs(big[1] - 100) <= 3 && Math.abs(big[2] - 50) <= 3);
    const rep = await verifyDataset(train);
    assert.deepEqual(rep.perClass, [4, 3]);
    // Decoded once, then cached.
    const before = train.decoded;
    await sample(train, 0);
    assert.equal(train.decoded, before);
    // One channel: luminance.
    const lum = await openImageFolder({ dataDir: root, split: 'train', channels: 1, imageSize: 4 });
    assert.deepEqual(lum.shape, [4, 4, 1]);
    const l = await sample(lum, 5);
    assert.ok(l.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  } finally {
    rmDir(root);
  }
});

test('image folder: train/ and test/ subfolders are used as given', async () => {
  const root = tmpDir('imgtt');
  try {
    const img = (v: number) => pngBytes(4, 4, 2, () => [v, v, v, 255]);
    put(path.join(root, 'train', 'a', '1.png'), img(1));
    put(path.join(root, 'train', 'a', '2.png'), img(2));
    put(path.join(root, 'train', 'b', '1.png'), img(3));
    put(path.join(root, 'test', 'b', '9.png'), img(4));
    const train = await openImageFolder({ dataDir: root, split: 'train' });
    const testDs = await openImageFolder({ dataDir: root, split: 'test' });
    assert.equal(train.count, 3);
    assert.equal(testDs.count, 1);
    assert.deepEqual(Array.from(testDs.labels), [1]);
    assert.deepEqual(testDs.classNames, ['a', 'b']);
    assert.equal((await sample(testDs, 0))[0], 4);
    put(path.join(root, 'test', 'zebra', '1.png'), img(5));
    await assert.rejects(openImageFolder({ dataDir: root, split: 'test' }), /zebra: class not in/);
    fs.rmSync(path.join(root, 'test'), { recursive: true });
    await assert.rejects(openImageFolder({ dataDir: root, split: 'train' }), /has train\/ but no test\//);
  } finally {
    rmDir(root);
  }
});

test('image folder errors: empty class, unreadable JPEG, unsupported format, missing folder', async () => {
  const root = tmpDir('imgbad');
  try {
    const okPng = pngBytes(4, 4, 2, () => [1, 2, 3, 255]);
    put(path.join(root, 'a', '1.png'), okPng);
    put(path.join(root, 'a', '2.png'), okPng);
    fs.mkdirSync(path.join(root, 'b'));
    put(path.join(root, 'b', 'x.txt'), Buffer.from('x'));
    await assert.rejects(
      openImageFolder({ dataDir: root, split: 'train' }),
      /b: class folder without images/,
    );
    const good = rgbJpeg(8, 8, () => [1, 2, 3]);
    const bad = path.join(root, 'b', 'bad.jpg');
    put(bad, good.subarray(0, 40));
    put(path.join(root, 'b', 'ok.jpg'), good);
    const ds = await openImageFolder({ dataDir: root, split: 'train' });
    await assert.rejects(verifyDataset(ds), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.ok(e.message.startsWith(`${bad}: corrupt or truncated JPEG`), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    put(bad, Buffer.from('GIF89a...'));
    fs.renameSync(bad, path.join(root, 'b', 'bad.png'));
    const ds2 = await openImageFolder({ dataDir: root, split: 'train' });
    await assert.rejects(verifyDataset(ds2), /bad\.png: not a PNG or JPEG/);
    put(path.join(root, 'b', 'c.gif'), Buffer.from('GIF89a'));
    await assert.rejects(
      openImageFolder({ dataDir: root, split: 'train' }),
      /c\.gif: unsupported image format/,
    );
    await assert.rejects(openImageFolder({ dataDir: path.join(root, 'nope'), split: 'train' }), DataError);
  } finally {
    rmDir(root);
  }
});

test('resize: area keeps the mean, bilinear keeps constants, same size copies', () => {
  const src = Float32Array.from({ length: 6 * 6 }, (_, i) => i % 7);
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const area = resizeHwc(src, 6, 6, 1, 4, 4, 'area');
  assert.ok(Math.abs(mean(area) - mean(src)) < 1e-5);
  const pooled = resizeHwc(src, 6, 6, 1, 3, 3, 'area');
  assert.equal(pooled[0], (src[0] + src[1] + src[6] + src[7]) / 4);
  const constant = resizeHwc(new Float32Array(5 * 3 * 2).fill(9), 5, 3, 2, 7, 4, 'bilinear');
  assert.ok(constant.every((v) => Math.abs(v - 9) < 1e-5));
  assert.deepEqual(resizeHwc(src, 6, 6, 1, 6, 6, 'bilinear'), src);
  // Bilinear upsampling by 2 of [0, 10]: half-pixel centres give 0, 2.5, 7.5, 10.
  assert.deepEqual(
    Array.from(resizeHwc(Float32Array.of(0, 10), 1, 2, 1, 1, 4, 'bilinear')),
    [0, 2.5, 7.5, 10],
  );
  assert.throws(() => decodeImage(Buffer.from('nope'), 'n.png'), /n\.png: not a PNG or JPEG/);
});
