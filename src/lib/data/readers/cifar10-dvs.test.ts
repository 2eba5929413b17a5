import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../types.js';
import { aedatDataOffset, integrateFrames, parseAedat } from './aedat.js';
import { openCifar10Dvs } from './cifar10-dvs.js';
import { decodeFrameCache, encodeFrameCache } from './frame-cache.js';
import {
  AEDAT_HEADER,
  aedatBytes,
  rmDir,
  syntheticEvents,
  tmpDir,
  writeDvsFolder,
} from './fixture-files.test-support.js';
import { crc32, crc32Table, verifyDataset } from './util.js';

test('AEDAT: header skipped, big-endian pairs decoded with the CIFAR10-DVS address layout', () => {
  const addr = 0x1234;
  const raw = Buffer.concat([
    Buffer.from(AEDAT_HEADER, 'latin1'),
    Buffer.from([0, 0, 0x12, 0x34, 0, 0, 1, 0]),
  ]);
  assert.equal(aedatDataOffset(raw, 'a.aedat'), AEDAT_HEADER.length);
  const ev = parseAedat(raw, 'a.aedat');
  assert.equal(ev.count, 1);
  assert.equal(ev.x[0], 127 - ((addr & 0x7f00) >> 8));
  assert.equal(ev.x[0], 109);
  assert.equal(ev.y[0], 127 - ((addr & 0xfe) >> 1));
  assert.equal(ev.y[0], 101);
  assert.equal(ev.p[0], 1);
  assert.equal(ev.t[0], 256);
  const evs = syntheticEvents(7, 3);
  const back = parseAedat(aedatBytes(evs), 'b.aedat');
  assert.deepEqual(
    Array.from(back.x),
    evs.map((e) => e.x),
  );
  assert.deepEqual(
    Array.from(back.y),
    evs.map((e) => e.y),
  );
  assert.deepEqual(
    Array.from(back.p),
    evs.map((e) => e.p),
  );
});

test('integration by event number: floor(N/F) per frame, the last takes the rest, channel 2f+p', () => {
  // 10 events at pixel (y=2, x=1): polarity alternates 0,1,...
  const evs = Array.from({ length: 10 }, (_, i) => ({ x: 1, y: 2, p: i % 2, t: i }));
  const ev = parseAedat(aedatBytes(evs), 'c.aedat');
  const f3 = integrateFrames(ev, 3);
  const at = (y: number, x: number, c: number) => f3[(y * 128 + x) * 6 + c];
  // slices [0,3) [3,6) [6,10): p0 counts 2,1,2 ; p1 counts 1,2,2
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((c) => at(2, 1, c)),
    [2, 1, 1, 2, 2, 2],
  );
  assert.equal(
    f3.reduce((a, b) => a + b, 0),
    10,
  );
  const f1 = integrateFrames(ev, 1);
  assert.equal(f1[(2 * 128 + 1) * 2], 5);
  assert.equal(f1[(2 * 128 + 1) * 2 + 1], 5);
  // More frames than events: all but the last frame are empty.
  const f20 = integrateFrames(ev, 20);
  assert.equal(f20[(2 * 128 + 1) * 40 + 38] + f20[(2 * 128 + 1) * 40 + 39], 10);
});

test('AEDAT errors: odd words, missing header end, wrong magic, no header, bad version, no events', () => {
  const good = aedatBytes(syntheticEvents(3, 0));
  const cases: [Buffer, RegExp][] = [
    [good.subarray(0, good.length - 4), /f\.aedat: byte \d+: odd number of 32-bit words \(5\)/],
    [good.subarray(0, good.length - 2), /not a whole number of 32-bit words/],
    [
      Buffer.from('#!AER-DAT2.0\r\n# unterminated', 'latin1'),
      /f\.aedat: byte 14: header line not terminated/,
    ],
    [Buffer.from('#!AER-DAT2.0', 'latin1'), /byte 0: header line not terminated/],
    [Buffer.from('#!AER-DAT3.1\r\n', 'latin1'), /unsupported AEDAT version '3\.1'/],
    [Buffer.from('# hello\n', 'latin1'), /byte 0: wrong magic/],
    [good.subarray(AEDAT_HEADER.length), /byte 0: missing AEDAT header/],
    [Buffer.from(AEDAT_HEADER, 'latin1'), /no events/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(
      () => parseAedat(buf, 'f.aedat'),
      (e: unknown) => e instanceof DataError && re.test(e.message) && !e.message.includes('\n'),
      re.source,
    );
  }
});

test('frame cache format: round trip, and every damaged field is a DataError', () => {
  const check = Buffer.from('123456789', 'latin1');
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Table(check), 0xcbf43926);
  const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 0.5);
  const enc = encodeFrameCache(data, [2, 3, 4], 'k');
  assert.deepEqual(decodeFrameCache(enc, 'c.stcf', [2, 3, 4], 'k'), data);
  assert.throws(() => decodeFrameCache(enc, 'c.stcf', [2, 3, 4], 'other'), /byte 24: key digest/);
  assert.throws(() => decodeFrameCache(enc, 'c.stcf', [2, 3, 2], 'k'), /byte 16: shape/);
  const bad = Buffer.from(enc);
  bad[60] ^= 1;
  assert.throws(() => decodeFrameCache(bad, 'c.stcf', [2, 3, 4], 'k'), /checksum/);
  assert.throws(() => decodeFrameCache(enc.subarray(0, enc.length - 1), 'c.stcf', [2, 3, 4], 'k'), /size/);
  const magic = Buffer.from(enc);
  magic[0] = 0x41;
  assert.throws(() => decodeFrameCache(magic, 'c.stcf', [2, 3, 4], 'k'), /byte 0: wrong magic/);
});

test('CIFAR10-DVS: classes, deterministic 90/10 split by natural order, samples match the events', async () => {
  const root = tmpDir('dvs');
  try {
    const data = path.join(root, 'data');
    writeDvsFolder(data, ['airplane', 'automobile'], 12, 30);
    const cacheDir = path.join(root, 'cache');
    const train = await openCifar10Dvs({ strict: false, dataDir: data, split: 'train', cacheDir });
    const testDs = await openCifar10Dvs({ strict: false, dataDir: data, split: 'test', cacheDir });
    assert.deepEqual(train.classNames, ['airplane', 'automobile']);
    assert.equal(train.count, 22);
    assert.equal(testDs.count, 2);
    // Natural order: file _11 is last, so it is the test file (lexical order would pick _9).
    assert.deepEqual(
      testDs.files.map((f) => path.basename(f)),
      ['cifar10_airplane_11.aedat', 'cifar10_automobile_11.aedat'],
    );
    assert.deepEqual(Array.from(testDs.labels), [0, 1]);
    assert.equal(path.basename(train.files[2]), 'cifar10_airplane_2.aedat');
    assert.deepEqual(train.shape, [128, 128, 2]);
    const out = new Float32Array(128 * 128 * 2);
    await testDs.read(1, out, 0);
    const expected = integrateFrames(parseAedat(fs.readFileSync(testDs.files[1]), 'x'), 1);
    assert.deepEqual(out, expected);
    assert.equal(
      out.reduce((a, b) => a + b, 0),
      30,
    );
    const rep = await verifyDataset(train);
    assert.deepEqual(rep.perClass, [11, 11]);
  } finally {
    rmDir(root);
  }
});

test('CIFAR10-DVS cache: hit, rebuilt after corruption, key changes with F, size and the source', async () => {
  const root = tmpDir('dvscache');
  try {
    const data = path.join(root, 'data');
    writeDvsFolder(data, ['cat', 'dog'], 3, 50);
    const cacheDir = path.join(root, 'cache');
    const open = (frames = 2, size?: number) =>
      openCifar10Dvs({
        strict: false,
        dataDir: data,
        split: 'train',
        cacheDir,
        frames,
        size,
        memoryBudgetMB: 0,
      });
    const a = await open();
    const out = new Float32Array(128 * 128 * 4);
    await a.read(0, out, 0);
    assert.deepEqual(a.stats, { memoryHits: 0, diskHits: 0, builds: 1, rebuilds: 0 });
    const entry = a.cachePath(0);
    assert.ok(fs.existsSync(entry));
    const first = Float32Array.from(out);
    // Hit: a fresh data set reads the entry instead of the AEDAT file.
    const b = await open();
    out.fill(-1);
    await b.read(0, out, 0);
    assert.deepEqual(b.stats, { memoryHits: 0, diskHits: 1, builds: 0, rebuilds: 0 });
    assert.deepEqual(out, first);
    // Corruptions are rebuilt, never trusted.
    const good = fs.readFileSync(entry);
    const flips: Buffer[] = [];
    const f1 = Buffer.from(good);
    f1[good.length - 3] ^= 0x40;
    flips.push(f1);
    flips.push(good.subarray(0, 100));
    const f3 = Buffer.from(good);
    f3[2] = 0;
    flips.push(f3);
    flips.push(Buffer.alloc(0));
    for (const broken of flips) {
      fs.writeFileSync(entry, broken);
      const c = await open();
      out.fill(-1);
      await c.read(0, out, 0);
      assert.equal(c.stats.rebuilds, 1);
      assert.equal(c.stats.diskHits, 0);
      assert.deepEqual(out, first);
      assert.deepEqual(fs.readFileSync(entry), good, 'entry rewritten');
    }
    // Keys differ with F, with the size, and when the source changes.
    const f1ds = await open(1);
    assert.notEqual(f1ds.cachePath(0), entry);
    const small = await open(2, 48);
    assert.notEqual(small.cachePath(0), entry);
    assert.deepEqual(small.shape, [48, 48, 4]);
    const s = new Float32Array(48 * 48 * 4);
    await small.read(0, s, 0);
    // Area resizing keeps the mean: sum * (128/48)^2 = event count.
    const total = s.reduce((x, y) => x + y, 0) * (128 / 48) ** 2;
    assert.ok(Math.abs(total - 50) < 1e-3, String(total));
    fs.utimesSync(a.files[0], new Date(0), new Date(1_000_000));
    const d = await open();
    assert.notEqual(d.cachePath(0), entry);
    // In-memory LRU.
    const e = await openCifar10Dvs({ strict: false, dataDir: data, split: 'train', cacheDir, frames: 2 });
    await e.read(1, out, 0);
    await e.read(1, out, 0);
    assert.equal(e.stats.memoryHits, 1);
  } finally {
    rmDir(root);
  }
});

test('CIFAR10-DVS: a class folder without event files, a damaged file, no data are DataErrors', async () => {
  const root = tmpDir('dvsbad');
  try {
    const data = path.join(root, 'data');
    writeDvsFolder(data, ['cat', 'dog'], 3, 5);
    fs.mkdirSync(path.join(data, 'frog'));
    fs.writeFileSync(path.join(data, 'frog', 'readme.txt'), 'x');
    await assert.rejects(
      openCifar10Dvs({ strict: false, dataDir: data, split: 'train', cacheDir: root }),
      /frog: class folder without \.aedat/,
    );
    fs.rmSync(path.join(data, 'frog'), { recursive: true });
    const bad = path.join(data, 'dog', 'cifar10_dog_0.aedat');
    fs.writeFileSync(bad, Buffer.concat([aedatBytes(syntheticEvents(3, 1)), Buffer.alloc(4)]));
    const ds = await openCifar10Dvs({ strict: false, dataDir: data, split: 'train', cacheDir: root });
    await assert.rejects(
      verifyDataset(ds),
      (e: unknown) => e instanceof DataError && e.message.includes(bad),
    );
    await assert.rejects(
      openCifar10Dvs({ strict: false, dataDir: path.join(root, 'none'), split: 'train' }),
      DataError,
    );
    await assert.rejects(
      openCifar10Dvs({ strict: false, dataDir: data, split: 'train', frames: 0 }),
      DataError,
    );
  } finally {
    rmDir(root);
  }
});

test('CIFAR10-DVS strict mode: the official 10 classes of 1000 files are required', async () => {
  const root = tmpDir('dvsstrict');
  try {
    writeDvsFolder(root, ['cat', 'dog'], 2, 3);
    await assert.rejects(
      openCifar10Dvs({ dataDir: root, split: 'train', cacheDir: root }),
      /2 class folders, expected the official 10 \(--subset accepts a subset/,
    );
  } finally {
    rmDir(root);
  }
});

test('CIFAR10-DVS split rules: natural (last 10%), spikingjelly (code-point order), tebn (first 10%)', async () => {
  const root = tmpDir('dvssplit');
  try {
    writeDvsFolder(root, ['cat', 'dog'], 12, 2);
    const names = async (split: 'train' | 'test', splitRule?: 'natural' | 'spikingjelly' | 'tebn') =>
      (await openCifar10Dvs({ strict: false, dataDir: root, split, splitRule, cacheDir: root })).files
        .filter((f) => f.includes('cat'))
        .map((f) => path.basename(f, '.aedat').replace('cifar10_cat_', ''));
    assert.deepEqual(await names('test'), ['11']);
    assert.deepEqual(await names('test', 'natural'), ['11']);
    // ceil(12 * 0.9) = 11 train in code-point order 0 1 10 11 2 3 ... 9: the test file is 9.
    assert.deepEqual(await names('test', 'spikingjelly'), ['9']);
    assert.deepEqual(await names('train', 'spikingjelly'), [
      '0',
      '1',
      '10',
      '11',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ]);
    assert.deepEqual(await names('test', 'tebn'), ['0']);
    assert.equal((await names('train', 'tebn')).length, 11);
    for (const rule of ['natural', 'spikingjelly', 'tebn'] as const) {
      const train = new Set(await names('train', rule));
      const test = await names('test', rule);
      assert.equal(train.size + test.length, 12);
      assert.ok(
        test.every((t) => !train.has(t)),
        `${rule}: train and test are disjoint`,
      );
    }
  } finally {
    rmDir(root);
  }
});
