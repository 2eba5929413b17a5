import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { encodeIdx, parseIdx, readIdxFile, readIdxImageSet } from './idx.js';
import { DataError } from '../types.js';

function images(n: number, rows = 3, cols = 2): Uint8Array {
  return Uint8Array.from({ length: n * rows * cols }, (_, i) => (i * 37 + 11) & 0xff);
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-idx-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function throwsData(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('IDX: raw and gzipped files round-trip with dims and data', () => {
  withDir((dir) => {
    const px = images(4);
    for (const gz of [false, true]) {
      const f = join(dir, `im${gz}`);
      writeFileSync(f, encodeIdx([4, 3, 2], px, gz));
      const r = readIdxFile(f, 'images');
      assert.deepEqual(r.dims, [4, 3, 2]);
      assert.deepEqual(Array.from(r.data), Array.from(px));
    }
    const lf = join(dir, 'lab.gz');
    writeFileSync(lf, encodeIdx([4], Uint8Array.of(0, 9, 3, 3), true));
    const set = readIdxImageSet(join(dir, 'imtrue'), lf, 10);
    assert.equal(set.count, 4);
    assert.equal(set.rows, 3);
    assert.equal(set.cols, 2);
    assert.deepEqual(Array.from(set.labels), [0, 9, 3, 3]);
  });
});

test('IDX: wrong magic names the file and byte 0', () => {
  const labelsAsImages = encodeIdx([3], Uint8Array.of(1, 2, 3));
  throwsData(
    () => parseIdx(labelsAsImages, 'x.idx', 'images'),
    /^x\.idx: byte 0: bad magic 0x00000801, expected 0x00000803/,
  );
  const bad = encodeIdx([1, 1, 1], Uint8Array.of(7));
  bad[2] = 0x0d; // float elements
  throwsData(() => parseIdx(bad, 'f.idx', 'images'), /f\.idx: byte 0: bad magic 0x00000d03/);
  throwsData(() => parseIdx(Uint8Array.of(0, 0), 'short', 'labels'), /short: byte 2: file too short/);
});

test('IDX: truncated header, truncated data and trailing bytes are rejected with offsets', () => {
  const good = encodeIdx([2, 3, 2], images(2));
  throwsData(
    () => parseIdx(good.subarray(0, 10), 'h', 'images'),
    /h: byte 10: truncated IDX header \(10 of 16 bytes\)/,
  );
  throwsData(
    () => parseIdx(good.subarray(0, good.length - 1), 't', 'images'),
    /t: byte 27: truncated data: header says 2x3x2 = 12 bytes, only 11 follow it/,
  );
  const longer = new Uint8Array(good.length + 3);
  longer.set(good);
  throwsData(() => parseIdx(longer, 'o', 'images'), /o: byte 28: 3 unexpected bytes after the 12 data bytes/);
  // in a gzip stream the offset is of the inflated data
  throwsData(
    () => parseIdx(gzipSync(longer), 'o.gz', 'images'),
    /o\.gz: inflated byte 28: 3 unexpected bytes/,
  );
  // a cut gzip stream
  const gz = encodeIdx([2, 3, 2], images(2), true);
  throwsData(
    () => parseIdx(gz.subarray(0, gz.length - 6), 'cut.gz', 'images'),
    /cut\.gz: corrupt or truncated gzip data/,
  );
});

test('IDX: a lying header (dimension 2^31) is rejected before any allocation', () => {
  const f = encodeIdx([2, 3, 2], images(2));
  new DataView(f.buffer).setUint32(4, 2 ** 31);
  throwsData(
    () => parseIdx(f, 'lie', 'images'),
    /lie: byte 4: dimension 0 = 2147483648 is impossible: 2147483648x\.\.\. elements, but only 12 data bytes/,
  );
  const g = encodeIdx([2, 3, 2], images(2));
  new DataView(g.buffer).setUint32(12, 0xffffffff);
  throwsData(
    () => parseIdx(g, 'lie2', 'images'),
    /lie2: byte 28: truncated data: header says 2x3x4294967295 = 25769803770 bytes, only 12 follow it/,
  );
  const z = encodeIdx([2, 3, 2], images(2));
  new DataView(z.buffer).setUint32(8, 0);
  throwsData(() => parseIdx(z, 'zero', 'images'), /zero: byte 8: dimension 1 is 0/);
});

test('IDX: a gzip bomb beyond maxBytes is refused', () => {
  const big = gzipSync(new Uint8Array(1 << 20));
  throwsData(
    () => parseIdx(big, 'bomb.gz', 'images', { maxBytes: 4096 }),
    /bomb\.gz: gzip data inflates to more than 4096 bytes/,
  );
});

test('IDX: label count must equal image count; labels must be below the class count', () => {
  withDir((dir) => {
    const im = join(dir, 'im');
    const lb = join(dir, 'lb');
    writeFileSync(im, encodeIdx([3, 3, 2], images(3)));
    writeFileSync(lb, encodeIdx([2], Uint8Array.of(1, 2)));
    throwsData(() => readIdxImageSet(im, lb), new RegExp(`^${lb}: byte 4: 2 labels, but ${im} has 3 images`));
    writeFileSync(lb, encodeIdx([3], Uint8Array.of(1, 10, 2)));
    throwsData(() => readIdxImageSet(im, lb, 10), new RegExp(`^${lb}: byte 9: label 10 is not below 10`));
    throwsData(() => readIdxFile(join(dir, 'missing'), 'images'), /missing: cannot read/);
  });
});

test('IDX fuzz: mutated files only ever give DataError (or a consistent parse)', (t) => {
  const baseRaw = encodeIdx([3, 4, 5], images(3, 4, 5));
  const baseGz = encodeIdx([3, 4, 5], images(3, 4, 5), true);
  const baseLab = encodeIdx([6], Uint8Array.of(0, 1, 2, 3, 4, 5));
  type Mut =
    | { kind: 'set'; at: number; value: number }
    | { kind: 'truncate'; at: number }
    | { kind: 'append'; bytes: number[] }
    | { kind: 'u32'; at: number; value: number };
  const mut: fc.Arbitrary<Mut> = fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      at: fc.nat(200),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(200) }),
    fc.record({
      kind: fc.constant('append' as const),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('u32' as const),
      at: fc.integer({ min: 0, max: 4 }),
      value: fc.nat({ max: 0xffffffff }),
    }),
  );
  let tried = 0;
  let parsed = 0;
  const t0 = Date.now();
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.array(mut, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (which, muts, regzip) => {
        tried++;
        const base = [baseRaw, baseGz, baseLab][which];
        let buf = Uint8Array.from(base);
        for (const m of muts) {
          if (m.kind === 'set' && buf.length > 0) buf[m.at % buf.length] = m.value;
          else if (m.kind === 'truncate') buf = buf.subarray(0, m.at % (buf.length + 1));
          else if (m.kind === 'append') buf = Uint8Array.from([...buf, ...m.bytes]);
          else if (m.kind === 'u32' && buf.length >= 4 * m.at + 4)
            new DataView(buf.buffer, buf.byteOffset).setUint32(4 * m.at, m.value);
        }
        if (regzip) buf = gzipSync(buf);
        const kind = which === 2 ? 'labels' : 'images';
        try {
          const r = parseIdx(buf, 'fuzz', kind, { maxBytes: 1 << 16 });
          parsed++;
          // a successful parse is self-consistent
          assert.equal(
            r.data.length,
            r.dims.reduce((a, b) => a * b, 1),
          );
          assert.equal(r.dims.length, kind === 'images' ? 3 : 1);
        } catch (e) {
          assert.ok(e instanceof DataError, `non-DataError: ${String(e)}`);
          assert.match(e.message, /^fuzz: /);
          assert.ok(!e.message.includes('\n'), 'one-line message');
        }
      },
    ),
    { numRuns: 3000, seed: 20240601 },
  );
  t.diagnostic(
    `fuzz: ${tried} mutated IDX inputs tried, ${parsed} parsed, ${tried - parsed} rejected with DataError, ${Date.now() - t0} ms`,
  );
  assert.equal(tried, 3000);
  assert.ok(parsed > 0 && parsed < tried, 'both outcomes occur');
});
