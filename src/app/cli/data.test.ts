import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_FILES } from '../../lib/data/readers/fashion-mnist.js';
import { encodeIdx } from '../../lib/data/readers/idx.js';
import { writeCifar10Folder, writeTinyImageNet } from '../../lib/data/readers/fixture-files.test-support.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function cli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, STCSNN_DATA: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function fixture(dir: string, train: number, test: number): void {
  for (const [split, n] of [
    ['train', train],
    ['test', test],
  ] as const) {
    const f = FASHION_MNIST_FILES[split];
    writeFileSync(join(dir, `${f.images}.gz`), encodeIdx([n, 28, 28], new Uint8Array(n * 784).fill(9), true));
    writeFileSync(
      join(dir, `${f.labels}.gz`),
      encodeIdx(
        [n],
        Uint8Array.from({ length: n }, (_, i) => i % 10),
        true,
      ),
    );
  }
}

test('data info --json on the embedded default', () => {
  const r = cli(['data', 'info', '--dataset', 'fashion-mnist-mini', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), {
    dataset: 'fashion-mnist-mini',
    train: 4000,
    test: 1000,
    classes: 10,
    shape: [1, 28, 28],
    source: 'embedded',
    checksum_ok: null,
  });
  const text = cli(['data', 'info']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /dataset\s+fashion-mnist-mini/);
});

test('data info / verify on Fashion-MNIST files in --data-dir; bad files exit 2 naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-datacli-'));
  try {
    fixture(dir, 20, 10);
    const info = cli(['data', 'info', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(info.code, 0, info.err);
    const j = JSON.parse(info.out);
    assert.equal(j.train, 20);
    assert.equal(j.test, 10);
    assert.equal(j.source, dir);
    assert.equal(j.checksum_ok, false);
    const ok = cli(['data', 'verify', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(ok.code, 0, ok.err);
    const v = JSON.parse(ok.out);
    assert.equal(v.ok, true);
    assert.deepEqual(v.test.perClass, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // truncate the test images: verify reports the file and exits 2
    const bad = encodeIdx([10, 28, 28], new Uint8Array(10 * 784)).subarray(0, 5000);
    writeFileSync(join(dir, `${FASHION_MNIST_FILES.test.images}.gz`), bad);
    const broken = cli(['data', 'verify', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(broken.code, 2);
    const bj = JSON.parse(broken.out);
    assert.equal(bj.ok, false);
    assert.match(bj.problem, /t10k-images-idx3-ubyte\.gz: byte 5000: truncated data/);
    assert.match(broken.err, /^stcsnn: error: .*t10k-images-idx3-ubyte\.gz: byte 5000/);
    assert.equal(broken.err.trim().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data: unknown data set, missing files, unknown fetch target and offline fetch exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-datacli-'));
  try {
    const unknown = cli(['data', 'info', '--dataset', 'mnist']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /--dataset must be one of fashion-mnist-mini, fashion-mnist/);
    const missing = cli(['data', 'info', '--dataset', 'fashion-mnist', '--data-dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /Fashion-MNIST files not found; run `apt-get install dataset-fashion-mnist`/);
    const other = cli(['data', 'fetch', 'cifar10', '--data-dir', dir]);
    assert.equal(other.code, 2);
    const offline = cli(['data', 'fetch', 'fashion-mnist', '--data-dir', dir], {
      STCSNN_FASHION_MNIST_URL: 'http://127.0.0.1:1/',
    });
    assert.equal(offline.code, 2);
    assert.match(
      offline.err,
      /download failed .*apt-get install dataset-fashion-mnist.*download them by hand/,
    );
    const flag = cli(['data', 'verify', '--no-such-flag']);
    assert.equal(flag.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data info/verify --subset: a subset is accepted as with train, and the refusal names the flag', () => {
  const root = mkdtempSync(join(tmpdir(), 'stcsnn-datasubset-'));
  try {
    const dir = writeTinyImageNet(root);
    const strict = cli(['data', 'info', '--dataset', 'tinyimagenet', '--data-dir', dir]);
    assert.equal(strict.code, 2, strict.err);
    assert.match(strict.err, /2 classes, expected the official 200 \(--subset accepts a subset; /);
    const info = cli(['data', 'info', '--dataset', 'tinyimagenet', '--data-dir', dir, '--subset', '--json']);
    assert.equal(info.code, 0, info.err);
    const r = JSON.parse(info.out) as { train: number; test: number; classes: number };
    assert.deepEqual([r.train, r.test, r.classes], [5, 3, 2]);
    const verify = cli([
      'data',
      'verify',
      '--dataset',
      'tinyimagenet',
      '--data-dir',
      dir,
      '--subset',
      '--json',
    ]);
    assert.equal(verify.code, 0, verify.err);
    assert.equal((JSON.parse(verify.out) as { ok: boolean }).ok, true);
    const other = cli(['data', 'info', '--subset']);
    assert.equal(other.code, 2);
    assert.match(
      other.err,
      /^stcsnn: error: --subset applies to cifar10, cifar100, tinyimagenet, cifar10-dvs, not fashion-mnist-mini\n$/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10 --subset with data_batch_1.bin alone: data verify and train read the batches present (issue 33)', () => {
  const root = mkdtempSync(join(tmpdir(), 'stcsnn-c10batch1-'));
  try {
    const dir = writeCifar10Folder(root, 3, 2);
    for (const k of [2, 3, 4, 5]) rmSync(join(dir, `data_batch_${k}.bin`));
    const verify = cli(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir, '--subset', '--json']);
    assert.equal(verify.code, 0, verify.err);
    assert.equal((JSON.parse(verify.out) as { ok: boolean }).ok, true);
    const info = cli(['data', 'info', '--dataset', 'cifar10', '--data-dir', root, '--subset', '--json']);
    assert.equal(info.code, 0, info.err);
    const counts = JSON.parse(info.out) as { train: number; test: number };
    assert.deepEqual([counts.train, counts.test], [3, 2]);
    const out = join(root, 'run');
    const train = cli([
      'train',
      ...['--dataset', 'cifar10', '--data-dir', dir, '--subset', '--epochs', '1', '--width', '0.125'],
      ...['--T', '2', '--batch-size', '3', '--backend', process.env.STCSNN_TEST_BACKEND ?? 'wasm'],
      ...['--out', out, '--json'],
    ]);
    assert.equal(train.code, 0, train.err);
    assert.equal((JSON.parse(train.out) as { epochs: number }).epochs, 1);
    // without --subset: the missing batch named, with the flag that accepts it
    const strict = cli(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir]);
    assert.equal(strict.code, 2);
    assert.equal(
      strict.err,
      `stcsnn: error: ${join(dir, 'data_batch_2.bin')}: missing; the official CIFAR-10 has data_batch_1.bin .. data_batch_5.bin (--subset accepts a subset; the option strict: false in the API)\n`,
    );
    // no training batch at all: one line naming the folder, no run left
    rmSync(join(dir, 'data_batch_1.bin'));
    const none = cli(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir, '--subset']);
    assert.equal(none.code, 2);
    assert.equal(
      none.err,
      `stcsnn: error: ${dir}: no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin)\n`,
    );
    const out2 = join(root, 'run2');
    const noTrain = cli([
      'train',
      '--dataset',
      'cifar10',
      '--data-dir',
      dir,
      '--subset',
      '--out',
      out2,
      '--json',
    ]);
    assert.equal(noTrain.code, 2);
    assert.deepEqual(JSON.parse(noTrain.out), {
      error: {
        message: `${dir}: no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin)`,
        code: 'data',
      },
    });
    assert.equal(existsSync(out2), false, 'no run directory left');
    assert.ok(readdirSync(root).includes('run'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
