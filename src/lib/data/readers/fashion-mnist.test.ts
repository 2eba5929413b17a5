import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkFashionMnistChecksums,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  fetchFashionMnist,
  findFashionMnist,
  findIdxFile,
  matchesKnownMd5,
  openFashionMnist,
  openFashionMnistMini,
} from './fashion-mnist.js';
import { encodeIdx, readIdxImageSet } from './idx.js';
import { DataError } from '../types.js';

const HAVE_DEBIAN = findFashionMnist(DEBIAN_FASHION_MNIST_DIR) !== null;
const NO_DEBIAN = HAVE_DEBIAN
  ? false
  : `${DEBIAN_FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'stcsnn-fmnist-'));
}

/** Pixel of fixture image `i` at `k`. */
const pix = (i: number, k: number) => (i * 13 + k * 7) & 0xff;

/** Writes a tiny Fashion-MNIST look-alike (n train, m test, 28x28) into `dir`. */
function writeFixture(dir: string, n: number, m: number, gz: boolean, rows = 28): void {
  mkdirSync(dir, { recursive: true });
  for (const [split, count] of [
    ['train', n],
    ['test', m],
  ] as const) {
    const f = FASHION_MNIST_FILES[split];
    const px = Uint8Array.from({ length: count * rows * 28 }, (_, j) =>
      pix(Math.floor(j / (rows * 28)), j % (rows * 28)),
    );
    const lb = Uint8Array.from({ length: count }, (_, i) => i % 10);
    const suffix = gz ? '.gz' : '';
    writeFileSync(join(dir, f.images + suffix), encodeIdx([count, rows, 28], px, gz));
    writeFileSync(join(dir, f.labels + suffix), encodeIdx([count], lb, gz));
  }
}

test('Fashion-MNIST: opens gzipped and inflated files from --data-dir and dir/fashion-mnist', () => {
  const root = tmp();
  try {
    writeFixture(join(root, 'gz'), 12, 5, true);
    writeFixture(join(root, 'raw', 'fashion-mnist'), 12, 5, false);
    for (const dir of [join(root, 'gz'), join(root, 'raw')]) {
      const ds = openFashionMnist({ split: 'train', dataDir: dir });
      assert.equal(ds.count, 12);
      assert.deepEqual(ds.shape, [28, 28, 1]);
      assert.equal(ds.classes, 10);
      assert.equal(ds.classNames[9], 'Ankle boot');
      assert.deepEqual(Array.from(ds.labels.subarray(0, 11)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
      const out = new Float32Array(784 + 3);
      ds.read(7, out, 3);
      assert.equal(out[3], pix(7, 0));
      assert.equal(out[3 + 783], pix(7, 783));
      const t = openFashionMnist({ split: 'test', dataDir: dir, limit: 3 });
      assert.equal(t.count, 3);
      assert.equal(t.split, 'test');
      assert.throws(() => t.read(3, out, 0), RangeError);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('Fashion-MNIST: $STCSNN_DATA is searched; missing files say how to get them', () => {
  const root = tmp();
  const saved = process.env.STCSNN_DATA;
  try {
    writeFixture(join(root, 'fashion-mnist'), 4, 2, true);
    process.env.STCSNN_DATA = root;
    assert.equal(findFashionMnist(), join(root, 'fashion-mnist'));
    assert.throws(
      () => openFashionMnist({ split: 'train', dataDir: join(root, 'empty') }),
      (e: unknown) =>
        e instanceof DataError &&
        /empty: Fashion-MNIST files not found; run `apt-get install dataset-fashion-mnist`/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.STCSNN_DATA;
    else process.env.STCSNN_DATA = saved;
    rmSync(root, { recursive: true, force: true });
  }
});

test('Fashion-MNIST: images of the wrong size and bad labels are DataErrors naming the file', () => {
  const root = tmp();
  try {
    writeFixture(root, 3, 2, false, 27);
    assert.throws(
      () => openFashionMnist({ split: 'train', dataDir: root }),
      (e: unknown) =>
        e instanceof DataError && e.message.includes('train-images-idx3-ubyte: byte 8: images are 27x28'),
    );
    writeFixture(root, 3, 2, false);
    writeFileSync(join(root, 't10k-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.of(3, 12)));
    assert.throws(
      () => openFashionMnist({ split: 'test', dataDir: root }),
      (e: unknown) =>
        e instanceof DataError && e.message.includes('t10k-labels-idx1-ubyte: byte 9: label 12'),
    );
    assert.equal(checkFashionMnistChecksums(root), false);
    assert.equal(checkFashionMnistChecksums(join(root, 'nothing')), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('fashion-mnist-mini: embedded, 4000 + 1000 images, 400 / 100 per class', () => {
  for (const [split, n, per] of [
    ['train', 4000, 400],
    ['test', 1000, 100],
  ] as const) {
    const ds = openFashionMnistMini({ split });
    assert.equal(ds.name, 'fashion-mnist-mini');
    assert.equal(ds.source, 'embedded');
    assert.equal(ds.count, n);
    assert.deepEqual(ds.shape, [28, 28, 1]);
    assert.deepEqual(ds.classNames, FASHION_MNIST_CLASSES);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(per));
    const out = new Float32Array(784);
    ds.read(n - 1, out, 0);
    assert.ok(out.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
    assert.ok(
      out.some((v) => v > 0),
      'a real image is not blank',
    );
  }
  assert.equal(openFashionMnistMini({ split: 'train', limit: 10 }).count, 10);
});

test('fashion-mnist-mini holds exactly the listed images of the official files', { skip: NO_DEBIAN }, () => {
  const idx = JSON.parse(
    readFileSync(new URL('../../../../assets/fashion-mnist-mini/indices.json', import.meta.url), 'utf8'),
  ) as Record<'train' | 'test', number[]>;
  for (const split of ['train', 'test'] as const) {
    const f = FASHION_MNIST_FILES[split];
    const full = readIdxImageSet(
      findIdxFile(DEBIAN_FASHION_MNIST_DIR, f.images)!,
      findIdxFile(DEBIAN_FASHION_MNIST_DIR, f.labels)!,
    );
    const mini = openFashionMnistMini({ split });
    assert.equal(idx[split].length, mini.count);
    const out = new Float32Array(784);
    for (const k of [0, 1, 17, mini.count - 1]) {
      const i = idx[split][k];
      assert.equal(mini.labels[k], full.labels[i]);
      mini.read(k, out, 0);
      assert.deepEqual(Array.from(out), Array.from(full.images.subarray(i * 784, (i + 1) * 784)));
    }
  }
});

test('Debian Fashion-MNIST: full counts and official checksums', { skip: NO_DEBIAN }, () => {
  assert.equal(checkFashionMnistChecksums(DEBIAN_FASHION_MNIST_DIR), true);
  const ds = openFashionMnist({ split: 'test', dataDir: DEBIAN_FASHION_MNIST_DIR });
  assert.equal(ds.count, 10000);
  assert.equal(ds.source, DEBIAN_FASHION_MNIST_DIR);
});

async function serve(files: Record<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/fm\//, '');
    const body = files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fm/` };
}

test('fetch: an unreachable server gives a one-line DataError saying how to get the files', async () => {
  const root = tmp();
  try {
    const { server, url } = await serve({});
    server.close();
    await assert.rejects(fetchFashionMnist(root, { baseUrl: url }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /download failed .*apt-get install dataset-fashion-mnist.*download them by hand/,
      );
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal(findFashionMnist(root), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('fetch: a file with the wrong MD5 is refused and not written', async () => {
  const root = tmp();
  const bogus = encodeIdx([1, 28, 28], new Uint8Array(784), true);
  const files = Object.fromEntries(
    Object.values(FASHION_MNIST_FILES).flatMap((f) => [f.images, f.labels].map((b) => [`${b}.gz`, bogus])),
  );
  const { server, url } = await serve(files);
  try {
    await assert.rejects(
      fetchFashionMnist(root, { baseUrl: url }),
      /train-images-idx3-ubyte\.gz: MD5 [0-9a-f]{32} does not match/,
    );
    assert.equal(existsSync(join(root, 'train-images-idx3-ubyte.gz')), false);
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test(
  'fetch: downloads the official files, checks them, keeps them on a second run',
  { skip: NO_DEBIAN },
  async () => {
    const root = tmp();
    const files: Record<string, Uint8Array> = {};
    for (const f of Object.values(FASHION_MNIST_FILES))
      for (const b of [f.images, f.labels])
        files[`${b}.gz`] = readFileSync(join(DEBIAN_FASHION_MNIST_DIR, `${b}.gz`));
    const { server, url } = await serve(files);
    try {
      const got = await fetchFashionMnist(root, { baseUrl: url });
      assert.deepEqual(
        got.map((g) => g.status),
        ['downloaded', 'downloaded', 'downloaded', 'downloaded'],
      );
      assert.equal(checkFashionMnistChecksums(root), true);
      assert.ok(
        matchesKnownMd5('t10k-labels-idx1-ubyte', readFileSync(join(root, 't10k-labels-idx1-ubyte.gz'))),
      );
      const again = await fetchFashionMnist(root, { baseUrl: url });
      assert.deepEqual(
        again.map((g) => g.status),
        ['present', 'present', 'present', 'present'],
      );
    } finally {
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
