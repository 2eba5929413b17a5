/**
 * Fuzz tests of the binary parsers: thousands of mutated inputs (byte changes, truncations,
 * insertions, appended junk) built from valid files; each parser must either succeed with a
 * consistent result or throw a DataError, never another error, and return (no hang: every parser
 * here is a single bounded pass over its input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataError } from '../types.js';
import { parseCifarRecords, CIFAR10_FORMAT, cifar100Format } from './cifar.js';
import { parseAedat, integrateFrames } from './aedat.js';
import { decodeFrameCache, encodeFrameCache } from './frame-cache.js';
import { decodeImage } from './image.js';
import {
  AEDAT_HEADER,
  aedatBytes,
  cifarRecord,
  greyJpeg,
  pngBytes,
  rawTar,
  rmDir,
  syntheticEvents,
  tmpDir,
} from './fixture-files.test-support.js';
import { extractTarGzCached } from './archive.js';

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'append'; bytes: number[] };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9 }),
  }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 9 }),
  }),
);

function applyMutations(seed: Buffer, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    if (m.kind === 'set') {
      if (b.length > 0) b[m.at % b.length] = m.value;
    } else if (m.kind === 'truncate') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.kind === 'insert') {
      const at = m.at % (b.length + 1);
      b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    } else b = Buffer.concat([b, Buffer.from(m.bytes)]);
  }
  return b;
}

/** Mutated versions of the seeds (1 to 4 mutations each). */
function mutated(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([s, m]) => applyMutations(s, m));
}

/** Runs `fn`, passing when it returns or throws a DataError with a one-line message. */
function onlyDataError<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    assert.ok(!e.message.includes('\n'), e.message);
    return null;
  }
}

test('fuzz: CIFAR record parser', (t) => {
  const seeds = [
    Buffer.concat([cifarRecord([3], 1), cifarRecord([9], 2)]),
    cifarRecord([0], 5),
    Buffer.concat([cifarRecord([19, 99], 3), cifarRecord([0, 0], 4)]),
  ];
  let runs = 0;
  let parsed = 0;
  fc.assert(
    fc.property(mutated(seeds), fc.boolean(), (buf, c100) => {
      runs++;
      const format = c100 ? cifar100Format('fine') : CIFAR10_FORMAT;
      const r = onlyDataError(() => parseCifarRecords(buf, 'fuzz.bin', format));
      if (r !== null) {
        parsed++;
        assert.equal(r.count * (format.labelBytes + 3072), buf.length);
        assert.ok(r.labels.every((l) => l >= 0 && l < format.classes));
      }
    }),
    { numRuns: 3000, seed: 42 },
  );
  t.diagnostic(`${runs} mutated CIFAR inputs, ${parsed} parsed, ${runs - parsed} DataErrors`);
  assert.equal(runs, 3000);
});

test('fuzz: AEDAT parser and frame integration', (t) => {
  const seeds = [
    aedatBytes(syntheticEvents(20, 1)),
    aedatBytes(syntheticEvents(3, 2), '#!AER-DAT2.0\n'),
    Buffer.from(AEDAT_HEADER, 'latin1'),
    aedatBytes(syntheticEvents(1, 3), '#!AER-DAT2.0\r\n#\r\n# x\n'),
  ];
  let runs = 0;
  let parsed = 0;
  fc.assert(
    fc.property(mutated(seeds), fc.integer({ min: 1, max: 5 }), (buf, frames) => {
      runs++;
      const ev = onlyDataError(() => parseAedat(buf, 'fuzz.aedat'));
      if (ev !== null) {
        parsed++;
        assert.ok(ev.count > 0);
        assert.ok(ev.x.every((v) => v < 128) && ev.y.every((v) => v < 128) && ev.p.every((v) => v < 2));
        const fr = integrateFrames(ev, frames);
        assert.equal(
          fr.reduce((a, b) => a + b, 0),
          ev.count,
        );
      }
    }),
    { numRuns: 3000, seed: 7 },
  );
  // Structure-aware: random header lines and random data lengths.
  const lineArb = fc.oneof(
    fc.constant('#!AER-DAT2.0'),
    fc.constant('#!AER-DAT3.1'),
    fc.string({ maxLength: 12 }).map((s) => `#${s}`),
    fc.string({ maxLength: 5 }),
  );
  fc.assert(
    fc.property(
      fc.array(lineArb, { maxLength: 4 }),
      fc.constantFrom('\n', '\r\n', ''),
      fc.uint8Array({ maxLength: 40 }),
      (lines, eol, body) => {
        runs++;
        const buf = Buffer.concat([
          Buffer.from(lines.map((l) => l + eol).join(''), 'utf8'),
          Buffer.from(body),
        ]);
        if (onlyDataError(() => parseAedat(buf, 'fuzz.aedat')) !== null) parsed++;
      },
    ),
    { numRuns: 2000, seed: 8 },
  );
  t.diagnostic(`${runs} AEDAT inputs, ${parsed} parsed, ${runs - parsed} DataErrors`);
  assert.equal(runs, 5000);
});

test('fuzz: frame cache entries are either exact or a DataError', (t) => {
  const shape = [4, 5, 2] as const;
  const data = Float32Array.from({ length: 40 }, (_, i) => i % 7);
  const good = encodeFrameCache(data, shape, 'key-1');
  let runs = 0;
  let accepted = 0;
  fc.assert(
    fc.property(mutated([good]), (buf) => {
      runs++;
      const r = onlyDataError(() => decodeFrameCache(buf, 'fuzz.stcf', shape, 'key-1'));
      if (r !== null) {
        // Every header byte is checked and the payload is CRC-checked: what is accepted is the original.
        accepted++;
        assert.equal(buf.length, good.length);
        assert.deepEqual(r, data);
      }
    }),
    { numRuns: 3000, seed: 9 },
  );
  t.diagnostic(
    `${runs} mutated cache entries, ${accepted} accepted (checksum-consistent), ${runs - accepted} DataErrors`,
  );
  assert.equal(runs, 3000);
  assert.ok(accepted < runs / 10, 'almost every mutation is caught');
});

test('fuzz: image decoding (PNG, JPEG) fails only with DataError', (t) => {
  const seeds = [
    pngBytes(6, 5, 2, (y, x) => [x * 40, y * 50, 9, 255]),
    pngBytes(3, 3, 6, () => [1, 2, 3, 4]),
    greyJpeg(1, 2, (r, c) => 50 + c * 100),
  ];
  let runs = 0;
  let decoded = 0;
  fc.assert(
    fc.property(mutated(seeds), (buf) => {
      runs++;
      const img = onlyDataError(() => decodeImage(buf, 'fuzz.img'));
      if (img !== null) {
        decoded++;
        assert.equal(img.data.length, img.width * img.height * 3);
      }
    }),
    { numRuns: 1500, seed: 10 },
  );
  t.diagnostic(`${runs} mutated images, ${decoded} decoded, ${runs - decoded} DataErrors`);
  assert.equal(runs, 1500);
});

test('fuzz: archive extraction of mutated tars fails only with DataError and writes only inside the cache', async (t) => {
  const root = tmpDir('fuzztar');
  try {
    const seed = rawTar([
      { path: 'cifar-10-batches-bin/', type: 'Directory' },
      { path: 'cifar-10-batches-bin/test_batch.bin', data: Buffer.alloc(700, 3) },
      { path: 'cifar-10-batches-bin/alias', type: 'SymbolicLink', linkpath: 'test_batch.bin' },
      { path: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('a\nb\n') },
    ]);
    const sandbox = path.join(root, 'sandbox');
    const cacheDir = path.join(sandbox, 'cache');
    fs.mkdirSync(cacheDir, { recursive: true });
    let runs = 0;
    let extracted = 0;
    await fc.assert(
      fc.asyncProperty(mutated([seed]), async (tarBytes) => {
        const archive = path.join(root, `a${runs++}.tar.gz`);
        fs.writeFileSync(archive, zlib.gzipSync(tarBytes));
        try {
          const dir = await extractTarGzCached(archive, cacheDir);
          extracted++;
          assert.ok(dir.startsWith(cacheDir + path.sep));
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          assert.ok(!e.message.includes('\n'), e.message);
        }
        assert.deepEqual(fs.readdirSync(sandbox), ['cache'], 'nothing written beside the cache');
        assert.deepEqual(
          fs.readdirSync(root).filter((n) => !/^a\d+\.tar\.gz$/.test(n)),
          ['sandbox'],
          'nothing written beside the archives',
        );
      }),
      { numRuns: 400, seed: 11 },
    );
    t.diagnostic(`${runs} mutated archives, ${extracted} extracted, ${runs - extracted} DataErrors`);
    assert.equal(runs, 400);
  } finally {
    rmDir(root);
  }
});
