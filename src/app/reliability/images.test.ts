/**
 * Lying image headers: PNG IHDR and JPEG frame headers whose sizes (and PNG depth and colour
 * type) are fuzzed, with the PNG checksum fixed so that the decoder actually reads them. A
 * lying size must be refused from the header, before the decoder allocates width x height
 * pixels (a 100-byte PNG declaring 20000x20000 made pngjs allocate 1.6 GB; a 157-byte JPEG
 * declaring 8000x8000 made jpeg-js use 700 MB). The byte-level fuzz of the decoders is in
 * data/readers/fuzz.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DataError } from '../../lib/data/types.js';
import { decodeImage, MAX_IMAGE_PIXELS } from '../../lib/data/readers/image.js';
import { greyJpeg, pngBytes } from '../../lib/data/readers/testing.js';
import { crc32 } from '../../lib/data/readers/util.js';

const SIZES = fc.oneof(
  fc.constantFrom(0, 1, 3, 4, 5, 64, 8000, 20000, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);

function decodeOrDataError(bytes: Buffer, file: string): 'ok' | 'header' | 'rejected' {
  try {
    const img = decodeImage(bytes, file);
    assert.ok(img.width * img.height <= MAX_IMAGE_PIXELS);
    assert.equal(img.data.length, img.width * img.height * 3);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof DataError, `only DataError: ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `) && !e.message.includes('\n'), e.message);
    return /\(header\)$/.test(e.message) ? 'header' : 'rejected';
  }
}

test('fuzz: PNG headers with lying sizes, depths and colour types (checksum fixed)', (t) => {
  const base = pngBytes(4, 3, 2, (y, x) => [y * 40, x * 60, 7, 255]);
  const counts = { ok: 0, header: 0, rejected: 0 };
  fc.assert(
    fc.property(
      SIZES,
      SIZES,
      fc.constantFrom(1, 2, 4, 8, 16, 0, 3, 255),
      fc.constantFrom(0, 2, 3, 4, 6, 1, 7),
      (w, h, depth, colour) => {
        const b = Buffer.from(base);
        b.writeUInt32BE(w >>> 0, 16);
        b.writeUInt32BE(h >>> 0, 20);
        b[24] = depth;
        b[25] = colour;
        b.writeUInt32BE(crc32(b.subarray(12, 29)) >>> 0, 29);
        const r = decodeOrDataError(b, 'lie.png');
        counts[r]++;
        // Anything declaring more pixels than 29 compressed bytes can hold is refused from the header.
        if (w * h > 29 * 1032 * 8) assert.equal(r, 'header', `${w}x${h}`);
      },
    ),
    { numRuns: 1500, seed: 20261131, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: ${counts.ok + counts.header + counts.rejected} PNG headers: ${counts.header} refused from the header, ${counts.rejected} by the decoder, ${counts.ok} decoded`,
  );
  assert.ok(counts.header > 0 && counts.ok > 0);
});

test('fuzz: JPEG frame headers with lying sizes', (t) => {
  const base = greyJpeg(2, 2, (r, c) => (r * 16 + c * 3) % 256);
  let sof = -1;
  for (let i = 2; i + 1 < base.length && sof < 0; i++) if (base[i] === 0xff && base[i + 1] === 0xc0) sof = i;
  assert.ok(sof > 0, 'baseline frame header found');
  const counts = { ok: 0, header: 0, rejected: 0 };
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (w, h) => {
      const b = Buffer.from(base);
      b.writeUInt16BE(h, sof + 5);
      b.writeUInt16BE(w, sof + 7);
      const r = decodeOrDataError(b, 'lie.jpg');
      counts[r]++;
      if (Math.ceil(w / 8) * Math.ceil(h / 8) > b.length * 8) assert.equal(r, 'header', `${w}x${h}`);
    }),
    { numRuns: 1500, seed: 20261132, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: ${counts.ok + counts.header + counts.rejected} JPEG headers: ${counts.header} refused from the header, ${counts.rejected} by the decoder, ${counts.ok} decoded`,
  );
  assert.ok(counts.header > 0);
});
