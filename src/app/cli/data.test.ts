import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_FILES } from '../../lib/data/readers/fashion-mnist.js';
import { encodeIdx } from '../../lib/data/readers/idx.js';
import { writeCifar10Folder, writeTinyImageNet } from '../../lib/data/readers/fixture-files.test-support.js';
import { runCli } from './cli-run.test-support.js';

/** `stcsnn ARGS` with no STCSNN_DATA but what `env` says. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env: { STCSNN_DATA: '', ...env } });

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
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    dataset: 'fashion-mnist-mini',
    train: 4000,
    test: 1000,
    classes: 10,
    shape: [1, 28, 28],
    source: 'embedded',
    checksum_ok: null,
  });
  const text = cli(['data', 'info']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /dataset\s+fashion-mnist-mini/);
});

test('data info / verify on Fashion-MNIST files in --data-dir; bad files exit 2 naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-datacli-'));
  try {
    fixture(dir, 20, 10);
    const info = cli(['data', 'info', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const j = JSON.parse(info.stdout);
    assert.equal(j.train, 20);
    assert.equal(j.test, 10);
    assert.equal(j.source, dir);
    assert.equal(j.checksum_ok, false);
    const ok = cli(['data', 'verify', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const v = JSON.parse(ok.stdout);
    assert.equal(v.ok, true);
    assert.deepEqual(v.test.perClass, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // truncate the test images: verify reports the file and exits 2
    const bad = encodeIdx([10, 28, 28], new Uint8Array(10 * 784)).subarray(0, 5000);
    writeFileSync(join(dir, `${FASHION_MNIST_FILES.test.images}.gz`), bad);
    const broken = cli(['data', 'verify', '--dataset', 'fashion-mnist', '--data-dir', dir, '--json']);
    assert.equal(broken.code, 2);
    const bj = JSON.parse(broken.stdout);
    assert.equal(bj.ok, false);
    assert.match(bj.problem, /t10k-images-idx3-ubyte\.gz: byte 5000: truncated data/);
    assert.match(broken.stderr, /^stcsnn: error: .*t10k-images-idx3-ubyte\.gz: byte 5000/);
    assert.equal(broken.stderr.trim().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data: unknown data set, missing files, unknown fetch target and offline fetch exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-datacli-'));
  try {
    const unknown = cli(['data', 'info', '--dataset', 'mnist']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--dataset must be one of fashion-mnist-mini, fashion-mnist/);
    const missing = cli(['data', 'info', '--dataset', 'fashion-mnist', '--data-dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /Fashion-MNIST files not found; run `apt-get install dataset-fashion-mnist`/,
    );
    const other = cli(['data', 'fetch', 'cifar10', '--data-dir', dir]);
    assert.equal(other.code, 2);
    const offline = cli(['data', 'fetch', 'fashion-mnist', '--data-dir', dir], {
      STCSNN_FASHION_MNIST_URL: 'http://127.0.0.1:1/',
    });
    assert.equal(offline.code, 2);
    assert.match(
      offline.stderr,
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
    assert.equal(strict.code, 2, strict.stderr);
    assert.match(strict.stderr, /2 classes, expected the official 200 \(--subset accepts a subset; /);
    const info = cli(['data', 'info', '--dataset', 'tinyimagenet', '--data-dir', dir, '--subset', '--json']);
    assert.equal(info.code, 0, info.stderr);
    const r = JSON.parse(info.stdout) as { train: number; test: number; classes: number };
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
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
    const other = cli(['data', 'info', '--subset']);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
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
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
    const info = cli(['data', 'info', '--dataset', 'cifar10', '--data-dir', root, '--subset', '--json']);
    assert.equal(info.code, 0, info.stderr);
    const counts = JSON.parse(info.stdout) as { train: number; test: number };
    assert.deepEqual([counts.train, counts.test], [3, 2]);
    const out = join(root, 'run');
    const train = cli([
      'train',
      ...['--dataset', 'cifar10', '--data-dir', dir, '--subset', '--epochs', '1', '--width', '0.125'],
      ...['--T', '2', '--batch-size', '3', '--backend', process.env.STCSNN_TEST_BACKEND ?? 'wasm'],
      ...['--out', out, '--json'],
    ]);
    assert.equal(train.code, 0, train.stderr);
    assert.equal((JSON.parse(train.stdout) as { epochs: number }).epochs, 1);
    // without --subset: the missing batch named, with the flag that accepts it
    const strict = cli(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir]);
    assert.equal(strict.code, 2);
    assert.equal(
      strict.stderr,
      `stcsnn: error: ${join(dir, 'data_batch_2.bin')}: missing; the official CIFAR-10 has data_batch_1.bin .. data_batch_5.bin (--subset accepts a subset; the option strict: false in the API)\n`,
    );
    // no training batch at all: one line naming the folder, no run left
    rmSync(join(dir, 'data_batch_1.bin'));
    const none = cli(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir, '--subset']);
    assert.equal(none.code, 2);
    assert.equal(
      none.stderr,
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
    assert.deepEqual(JSON.parse(noTrain.stdout), {
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
