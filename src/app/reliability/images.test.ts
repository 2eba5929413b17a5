/**
 * Lying image headers: PNG IHDR and JPEG frame headers whose sizes (and PNG depth and colour
 * type) are fuzzed, with the PNG checksum fixed so that the decoder actually reads them. A
 * lying size must be refused from the header, before the decoder allocates width x height
 * pixels (a 100-byte PNG declaring 20000x20000 made pngjs allocate 1.6 GB; a 157-byte JPEG
 * declaring 8000x8000 made jpeg-js use 700 MB). The byte-level fuzz of the decoders is in
 * data/readers/fuzz.test.ts.
 *
 * Honest images that are too large (issue 33, case 1): what decoding costs is known from the
 * header (width x height x the decoder's samples per pixel x its bytes per sample) and refused
 * over `IMAGE_LIMITS.maxDecodeBytes` before the decoder starts (a 16-bit 8192x8192 PNG took
 * 1.7 GB, an 8000x8000 JPEG 2.2 GB); the first image of an image folder, whose size becomes the
 * model's input, is held to the limit a model is loaded with (`INPUT_LIMITS`), so that training
 * never makes a run that `eval`/`export` refuse (a 4100x32 image did); and a large image is
 * decoded on a worker thread, so that the event loop (and with it SIGTERM) keeps turning.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DataError } from '../../lib/data/types.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { INPUT_LIMITS } from '../../lib/core/limits.js';
import { checkImageHeader, decodeImage, MAX_IMAGE_PIXELS } from '../../lib/data/readers/image.js';
import { decodeImageAsync } from '../../lib/data/readers/image-decode.js';
import { openImageFolder } from '../../lib/data/readers/image-folder.js';
import { MODEL_LIMITS, modelSizeOverLimits } from '../../lib/interop/model-codec.js';
import { smallConfig } from '../../lib/interop/small-networks.test-support.js';
import { spawn } from 'node:child_process';
import { CLI, cli } from '../../lib/distributed/cli-process.test-support.js';
import { greyJpeg, pngBytes } from '../../lib/data/readers/fixture-files.test-support.js';
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

const root = mkdtempSync(join(tmpdir(), 'stcsnn-images-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A PNG chunk: length, type, data, CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An honest-looking PNG header: IHDR of `w` x `h`, `depth` bits, `colour` type, then `idat`
 * bytes of image data (enough for the declared pixels at deflate's best ratio) and IEND.
 */
function pngOfSize(w: number, h: number, depth: number, colour: number, idat: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colour;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(idat)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A baseline JPEG frame header of `w` x `h` with `nc` components and `pad` bytes after it. */
function jpegOfSize(w: number, h: number, nc: number, pad: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0, 8 + 3 * nc, 8, h >> 8, h & 255, w >> 8, w & 255, nc]);
  const comps = Buffer.alloc(3 * nc);
  for (let k = 0; k < nc; k++) comps.set([k + 1, 0x11, 0], 3 * k);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, comps, Buffer.alloc(pad)]);
}

test('decoding is bounded before it starts: 16-bit 8192x8192 PNG, 8000x8000 JPEG refused from the header (issue 33.1)', () => {
  const cases: [Buffer, string, RegExp][] = [
    [
      pngOfSize(8192, 8192, 16, 0, 140_000),
      'deep.png',
      /^deep\.png: a 8192x8192 16-bit PNG needs 512 MiB to decode, over the 256 MiB limit \(IMAGE_LIMITS\.maxDecodeBytes\) \(header\)$/,
    ],
    [
      jpegOfSize(8000, 8000, 3, 130_000),
      'big.jpg',
      /^big\.jpg: a 8000x8000 3-component JPEG needs 1099 MiB to decode, over the 256 MiB limit .*\(header\)$/,
    ],
  ];
  for (const [bytes, file, re] of cases) {
    const before = process.memoryUsage().rss;
    assert.throws(
      () => decodeImage(bytes, file),
      (e: unknown) => e instanceof DataError && re.test(e.message),
    );
    // nothing the size of the image was allocated (the cases would take 0.5 to 1.1 GiB)
    assert.ok(process.memoryUsage().rss - before < 128 * 2 ** 20);
  }
  // within the cap: an 8-bit grey 4096x4096 PNG (64 MiB to decode) passes the header checks
  assert.equal(checkImageHeader(pngOfSize(4096, 4096, 8, 0, 20_000), 'ok.png').width, 4096);
});

test('the first image of an image folder sets the model input: held to the loading limit (issue 33.1)', async () => {
  assert.equal(MODEL_LIMITS.maxSide, INPUT_LIMITS.maxSide, 'one limit for making and loading');
  for (const [name, first, w, h] of [
    ['wide', pngBytes(4100, 2, 0, () => [9, 9, 9, 255]), 4100, 2],
    // 8000x8000 grey: 62 KB that decode to 64 Mi pixels; refused from its header
    ['huge', pngOfSize(8000, 8000, 8, 0, 63_000), 8000, 8000],
  ] as const) {
    const dir = join(root, name);
    for (const c of ['a', 'b']) mkdirSync(join(dir, c), { recursive: true });
    writeFileSync(join(dir, 'a', '0.png'), first);
    writeFileSync(
      join(dir, 'a', '1.png'),
      pngBytes(4, 4, 0, () => [1, 1, 1, 255]),
    );
    for (const k of [0, 1])
      writeFileSync(
        join(dir, 'b', `${k}.png`),
        pngBytes(4, 4, 0, () => [2, 2, 2, 255]),
      );
    const file = join(dir, 'a', '0.png');
    await assert.rejects(openImageFolder({ dataDir: dir, split: 'train' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(
        e.message,
        `${file}: the first image, ${w} wide and ${h} high, sets the model's input, but input ${h}x${w} exceeds 4096x4096 (INPUT_LIMITS, the limit a model is loaded with); resize the images (--resize N, datasetOptions.size)`,
      );
      return true;
    });
    // the model the same shape would give is refused by the loading caps with the same words
    assert.match(
      modelSizeOverLimits(smallConfig({ inputShape: [h, w, 3] })) ?? '',
      new RegExp(`^input ${h}x${w} exceeds 4096x4096`),
    );
  }
  const out = join(root, 'run-wide');
  const r = await cli([
    ...['train', '--dataset', 'imagefolder', '--data-dir', join(root, 'wide'), '--epochs', '1'],
    ...['--limit-train', '4', '--out', out, '--backend', process.env.STCSNN_TEST_BACKEND ?? 'wasm'],
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /stcsnn: error: .*0\.png: the first image, 4100 wide and 2 high, sets the model's input/,
  );
  assert.ok(!existsSync(out), 'no run is made that could not be loaded');
});

test('a large image is decoded on a worker thread: the event loop keeps turning (issue 33.1, SIGTERM while decoding)', async () => {
  const bytes = pngBytes(1400, 1400, 6, (y, x) => [y & 255, x & 255, (x + y) & 255, 255]);
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const img = await decodeImageAsync(bytes, 'large.png');
  done = true;
  assert.ok(turns > 3, `the event loop turned ${turns} times while the image decoded`);
  assert.deepEqual(img, decodeImage(bytes, 'large.png'));
  await assert.rejects(decodeImageAsync(pngOfSize(8192, 8192, 16, 0, 140_000), 'deep.png'), /\(header\)$/);
});

test('SIGTERM while training decodes large images: the run stops within seconds, exit 143 (issue 33.1)', async () => {
  const dir = join(root, 'slow');
  const big = pngBytes(3000, 3000, 0, () => [3, 3, 3, 255]);
  for (const c of ['a', 'b']) {
    mkdirSync(join(dir, c), { recursive: true });
    writeFileSync(
      join(dir, c, '0.png'),
      pngBytes(16, 16, 0, () => [1, 1, 1, 255]),
    );
    for (let k = 1; k < 6; k++) writeFileSync(join(dir, c, `${k}.png`), big);
  }
  const out = join(root, 'run-slow');
  const child = spawn(
    process.execPath,
    [
      ...[CLI, 'train', '--dataset', 'imagefolder', '--data-dir', dir, '--epochs', '1', '--width', '0.125'],
      ...['--T', '2', '--limit-train', '12', '--limit-test', '2', '--out', out],
      ...['--backend', process.env.STCSNN_TEST_BACKEND ?? 'wasm'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const started = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('stcsnn train:')) resolve();
    }),
  );
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await started;
  await new Promise((r) => setTimeout(r, 500)); // the ten 3000x3000 images are being decoded
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await ended;
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(code, 143, stderr);
  assert.ok(seconds < 5, `stopped ${seconds.toFixed(1)} s after SIGTERM`);
  assert.match(stderr, /stcsnn: stopped \(SIGTERM\)/);
});
