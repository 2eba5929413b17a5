import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../types.js';
import { openCifar10, openCifar100, parseCifarRecords, CIFAR10_FORMAT } from './cifar.js';
import { checkTarGz, extractionDir } from './archive.js';
import {
  cifarPixel,
  cifarRecord,
  rawTarGz,
  rmDir,
  tarGz,
  tmpDir,
  writeCifar10Folder,
  writeCifar100Folder,
} from './fixture-files.test-support.js';
import { verifyDataset } from './util.js';

function sample(
  ds: { shape: readonly number[]; read: (i: number, o: Float32Array, k: number) => unknown },
  i: number,
) {
  const out = new Float32Array(ds.shape[0] * ds.shape[1] * ds.shape[2]);
  ds.read(i, out, 0);
  return out;
}

test('CIFAR-10 folder: counts, labels, names, CHW converted to HWC', async () => {
  const root = tmpDir('c10');
  try {
    writeCifar10Folder(root, 2, 3);
    const train = await openCifar10({
      strict: false,
      dataDir: root,
      split: 'train',
      cacheDir: path.join(root, 'cache'),
    });
    assert.equal(train.count, 10);
    assert.deepEqual(train.shape, [32, 32, 3]);
    assert.equal(train.classes, 10);
    assert.equal(train.classNames[9], 'truck');
    // Batch 3, record 1: label (3*7+1)%10 = 2, seed 301; it is sample (3-1)*2+1 = 5.
    assert.equal(train.labels[5], 2);
    const s = sample(train, 5);
    for (const [y, x, c] of [
      [0, 0, 0],
      [5, 17, 1],
      [31, 31, 2],
      [12, 3, 0],
    ]) {
      assert.equal(s[(y * 32 + x) * 3 + c], cifarPixel(301, c, y, x), `pixel ${y},${x},${c}`);
    }
    const raw = (train as unknown as { raw: Uint8Array }).raw;
    assert.equal(raw.length, 10 * 3072);
    assert.deepEqual(Float32Array.from(raw.subarray(5 * 3072, 6 * 3072)), s);
    const testDs = await openCifar10({
      strict: false,
      dataDir: path.join(root, 'cifar-10-batches-bin'),
      split: 'test',
    });
    assert.equal(testDs.count, 3);
    assert.deepEqual(Array.from(testDs.labels), [0, 1, 2]);
    const rep = await verifyDataset(testDs);
    assert.equal(rep.count, 3);
    assert.ok(rep.max <= 255 && rep.min >= 0);
  } finally {
    rmDir(root);
  }
});

test('CIFAR-10 .tar.gz: extracted once into the cache, atomically, then reused', async () => {
  const root = tmpDir('c10tgz');
  try {
    const src = path.join(root, 'src');
    writeCifar10Folder(src, 1, 2);
    const dl = path.join(root, 'dl');
    fs.mkdirSync(dl);
    const archive = path.join(dl, 'cifar-10-binary.tar.gz');
    await tarGz(archive, src, ['cifar-10-batches-bin']);
    const cacheDir = path.join(root, 'cache');
    const a = await openCifar10({ strict: false, dataDir: dl, split: 'train', cacheDir });
    assert.equal(a.count, 5);
    const dest = extractionDir(archive, cacheDir);
    assert.ok(fs.existsSync(path.join(dest, 'cifar-10-batches-bin', 'test_batch.bin')));
    assert.deepEqual(
      fs.readdirSync(path.dirname(dest)).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary folder left',
    );
    // Second open reads the extracted folder: mark it, and see the mark survive.
    fs.writeFileSync(path.join(dest, 'marker'), 'x');
    const b = await openCifar10({ strict: false, dataDir: archive, split: 'test', cacheDir });
    assert.equal(b.count, 2);
    assert.ok(fs.existsSync(path.join(dest, 'marker')));
  } finally {
    rmDir(root);
  }
});

test('CIFAR-100 folder: fine labels by default, coarse on request', async () => {
  const root = tmpDir('c100');
  try {
    writeCifar100Folder(root, 4, 2);
    const fine = await openCifar100({ strict: false, dataDir: root, split: 'train' });
    assert.equal(fine.classes, 100);
    assert.deepEqual(Array.from(fine.labels), [0, 3, 6, 9]);
    assert.equal(fine.classNames[3], 'fine3');
    const coarse = await openCifar100({ strict: false, dataDir: root, split: 'train', labels: 'coarse' });
    assert.equal(coarse.classes, 20);
    assert.deepEqual(Array.from(coarse.labels), [0, 1, 2, 3]);
    assert.equal(coarse.classNames[2], 'coarse2');
    const t = await openCifar100({ strict: false, dataDir: root, split: 'test' });
    const s = sample(t, 1);
    assert.equal(s[(7 * 32 + 9) * 3 + 2], cifarPixel(51, 2, 7, 9));
  } finally {
    rmDir(root);
  }
});

test('CIFAR: truncated, oversized, empty and bad-label files are one-line DataErrors', async () => {
  const root = tmpDir('c10bad');
  try {
    const dir = writeCifar10Folder(root, 2, 3);
    const f = path.join(dir, 'data_batch_3.bin');
    const good = fs.readFileSync(f);
    const cases: [Buffer, RegExp][] = [
      [good.subarray(0, good.length - 5), /data_batch_3\.bin: size 6141 .* at byte 3073/],
      [Buffer.concat([good, Buffer.alloc(1)]), /data_batch_3\.bin: size 6147 .* at byte 6146/],
      [Buffer.alloc(0), /data_batch_3\.bin: empty file/],
      [
        Buffer.concat([good.subarray(0, 3073), cifarRecord([10], 0)]),
        /data_batch_3\.bin: byte 3073 .*label 10/,
      ],
    ];
    for (const [content, re] of cases) {
      fs.writeFileSync(f, content);
      await assert.rejects(openCifar10({ strict: false, dataDir: root, split: 'train' }), (e: unknown) => {
        assert.ok(e instanceof DataError, String(e));
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
    await assert.rejects(
      openCifar10({ strict: false, dataDir: path.join(root, 'nope'), split: 'train' }),
      DataError,
    );
    const c100 = writeCifar100Folder(root, 2, 1);
    fs.writeFileSync(path.join(c100, 'train.bin'), cifarRecord([20, 5], 0));
    await assert.rejects(
      openCifar100({ strict: false, dataDir: root, split: 'train', labels: 'fine' }),
      /train\.bin: byte 0 .*label 20/,
    );
    fs.writeFileSync(path.join(c100, 'train.bin'), cifarRecord([2, 100], 0));
    await assert.rejects(
      openCifar100({ strict: false, dataDir: root, split: 'train', labels: 'coarse' }),
      /train\.bin: byte 1 /,
    );
  } finally {
    rmDir(root);
  }
});

test('CIFAR parser: record arithmetic', () => {
  const recs = parseCifarRecords(
    Buffer.concat([cifarRecord([4], 9), cifarRecord([7], 8)]),
    'x.bin',
    CIFAR10_FORMAT,
  );
  assert.equal(recs.count, 2);
  assert.deepEqual(Array.from(recs.labels), [4, 7]);
  assert.equal(recs.images[3072 + (2 * 32 + 1) * 3 + 1], cifarPixel(8, 1, 2, 1));
});

test('archives: entries escaping the folder, links outside, devices and garbage are refused', async () => {
  const root = tmpDir('evil');
  try {
    const rec = cifarRecord([1], 1);
    const ok = [
      { path: 'cifar-10-batches-bin/', type: 'Directory' as const },
      { path: 'cifar-10-batches-bin/test_batch.bin', data: rec },
    ];
    const cases: [Parameters<typeof rawTarGz>[0], RegExp][] = [
      [[...ok, { path: '../evil.txt', data: Buffer.from('x') }], /'\.\.' in path/],
      [[...ok, { path: 'cifar-10-batches-bin/../../evil', data: Buffer.from('x') }], /'\.\.' in path/],
      [[...ok, { path: '/tmp/evil', data: Buffer.from('x') }], /absolute path/],
      [
        [...ok, { path: 'cifar-10-batches-bin/l', type: 'SymbolicLink', linkpath: '../../etc' }],
        /symbolic link/,
      ],
      [[...ok, { path: 'l', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /symbolic link/],
      [[...ok, { path: 'h', type: 'Link', linkpath: '../outside' }], /hard link/],
      [[...ok, { path: 'f', type: 'FIFO' }], /unsupported entry type FIFO/],
    ];
    const cacheDir = path.join(root, 'cache');
    let k = 0;
    for (const [entries, re] of cases) {
      const archive = path.join(root, `evil${k++}.tar.gz`);
      fs.writeFileSync(archive, rawTarGz(entries));
      await assert.rejects(
        openCifar10({ strict: false, dataDir: archive, split: 'test', cacheDir }),
        (e: unknown) => {
          assert.ok(e instanceof DataError, String(e));
          assert.match(e.message, re);
          assert.ok(e.message.includes(archive));
          return true;
        },
      );
    }
    assert.ok(!fs.existsSync(path.join(root, 'evil.txt')));
    assert.ok(!fs.existsSync(path.join(cacheDir, 'evil.txt')));
    assert.ok(
      !fs.existsSync(path.join(cacheDir, 'extracted')) ||
        fs.readdirSync(path.join(cacheDir, 'extracted')).length === 0,
    );
    // A symlink that resolves inside, then one written through it to escape: node-tar's strict mode refuses.
    const chain = path.join(root, 'chain.tar.gz');
    fs.writeFileSync(
      chain,
      rawTarGz([
        ...ok,
        { path: 'd/', type: 'Directory' },
        { path: 'd/l', type: 'SymbolicLink', linkpath: '..' },
        { path: 'd/l/m', type: 'SymbolicLink', linkpath: '../..' },
        { path: 'd/l/m/escaped.txt', data: Buffer.from('x') },
      ]),
    );
    await assert.rejects(
      openCifar10({ strict: false, dataDir: chain, split: 'test', cacheDir }),
      (e: unknown) => {
        assert.ok(e instanceof DataError);
        assert.match(
          e.message,
          /chain\.tar\.gz: (refused, .*below the symbolic link|extraction failed .*symbolic link)/,
        );
        return true;
      },
    );
    assert.ok(!fs.existsSync(path.join(root, 'escaped.txt')));
    assert.ok(!fs.existsSync(path.join(cacheDir, 'escaped.txt')));
    // Archive bombs: more than maxBytes unpacked is refused before anything is written.
    const big = path.join(root, 'big.tar.gz');
    fs.writeFileSync(big, rawTarGz(ok));
    await assert.rejects(
      checkTarGz(big, 1000),
      /big\.tar\.gz: refused, entry .*test_batch\.bin': unpacks to more than 1000 bytes/,
    );
    assert.equal(await checkTarGz(big, 1e6), 2);
    // A symlink that stays inside is fine.
    const inside = path.join(root, 'inside.tar.gz');
    fs.writeFileSync(
      inside,
      rawTarGz([
        ...ok,
        { path: 'cifar-10-batches-bin/alias', type: 'SymbolicLink', linkpath: 'test_batch.bin' },
      ]),
    );
    const ds = await openCifar10({ strict: false, dataDir: inside, split: 'test', cacheDir });
    assert.equal(ds.count, 1);
    // Truncated gzip and non-archives.
    const full = rawTarGz(ok);
    const trunc = path.join(root, 'trunc.tar.gz');
    fs.writeFileSync(trunc, full.subarray(0, full.length >> 1));
    await assert.rejects(
      openCifar10({ strict: false, dataDir: trunc, split: 'test', cacheDir }),
      (e: unknown) => e instanceof DataError && e.message.includes(trunc),
    );
    const junk = path.join(root, 'junk.tar.gz');
    fs.writeFileSync(junk, Buffer.from('this is not gzip at all'));
    await assert.rejects(openCifar10({ strict: false, dataDir: junk, split: 'test', cacheDir }), DataError);
  } finally {
    rmDir(root);
  }
});

test('CIFAR strict mode: fewer records than the official count is an error, not a smaller data set', async () => {
  const root = tmpDir('c10strict');
  try {
    writeCifar10Folder(root, 2, 3);
    await assert.rejects(openCifar10({ dataDir: root, split: 'train' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /data_batch_1\.bin: 2 records, expected the official 10000 \(--subset accepts a subset/,
      );
      return true;
    });
    writeCifar100Folder(root, 2, 1);
    await assert.rejects(
      openCifar100({ dataDir: root, split: 'test' }),
      /test\.bin: 1 records, expected the official 10000/,
    );
    // The full official count passes.
    const dir = path.join(root, 'cifar-10-batches-bin');
    fs.writeFileSync(
      path.join(dir, 'test_batch.bin'),
      Buffer.concat(new Array(10000).fill(cifarRecord([3], 1))),
    );
    const t = await openCifar10({ dataDir: root, split: 'test' });
    assert.equal(t.count, 10000);
  } finally {
    rmDir(root);
  }
});

test('CIFAR-10 subset: the training batches present are read (issue 33); none, or a missing one without --subset, is one line', async () => {
  const root = tmpDir('c10some');
  try {
    const dir = writeCifar10Folder(root, 2, 3);
    for (const k of [2, 3, 4, 5]) fs.rmSync(path.join(dir, `data_batch_${k}.bin`));
    const train = await openCifar10({ strict: false, dataDir: root, split: 'train' });
    assert.equal(train.count, 2, 'data_batch_1.bin alone');
    // batch 1, record 1: label (7+1)%10, seed 101
    assert.deepEqual(Array.from(train.labels), [7, 8]);
    assert.equal(sample(train, 1)[(4 * 32 + 9) * 3 + 1], cifarPixel(101, 1, 4, 9));
    const testDs = await openCifar10({ strict: false, dataDir: root, split: 'test' });
    assert.equal(testDs.count, 3);
    // a gap: batches 1 and 3, in order
    writeCifar10Folder(path.join(root, 'gap'), 2, 3);
    const gapDir = path.join(root, 'gap', 'cifar-10-batches-bin');
    for (const k of [2, 4, 5]) fs.rmSync(path.join(gapDir, `data_batch_${k}.bin`));
    const gap = await openCifar10({ strict: false, dataDir: gapDir, split: 'train' });
    assert.deepEqual(Array.from(gap.labels), [7, 8, (3 * 7) % 10, (3 * 7 + 1) % 10]);
    // a dangling link at a batch's name is present, and refused by the read naming it
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(dir, 'data_batch_2.bin'));
    await assert.rejects(
      openCifar10({ strict: false, dataDir: root, split: 'train' }),
      (e: unknown) => e instanceof DataError && /data_batch_2\.bin: cannot read \(ENOENT\)$/.test(e.message),
    );
    fs.rmSync(path.join(dir, 'data_batch_2.bin'));
    // without --subset a missing batch is named with the hint
    await assert.rejects(openCifar10({ dataDir: root, split: 'train' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(
        e.message,
        `${path.join(dir, 'data_batch_2.bin')}: missing; the official CIFAR-10 has data_batch_1.bin .. data_batch_5.bin (--subset accepts a subset; the option strict: false in the API)`,
      );
      return true;
    });
    // no training batch at all
    fs.rmSync(path.join(dir, 'data_batch_1.bin'));
    await assert.rejects(openCifar10({ strict: false, dataDir: root, split: 'train' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.message, `${dir}: no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin)`);
      return true;
    });
    assert.equal((await openCifar10({ strict: false, dataDir: root, split: 'test' })).count, 3);
  } finally {
    rmDir(root);
  }
});
