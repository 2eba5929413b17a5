import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { conversionText, declaredChannels, imageToInput, type ChannelConversion } from './image-input.js';
import { LUMA } from '../data/readers/image-files.js';

function pngBytes(
  w: number,
  h: number,
  colorType: 0 | 2 | 4 | 6,
  fill: (i: number) => [number, number, number],
) {
  const img = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = fill(i);
    img.data.set([r, g, b, 255], i * 4);
  }
  return new Uint8Array(PNG.sync.write(img, { colorType }));
}

/** A minimal JPEG prefix: SOI, an APP0 segment, then a baseline SOF0 with `nf` components. */
function jpegHeader(nf: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x04, 0x00, 0x00];
  const sof = [0xff, 0xc0, 0x00, 8 + 3 * nf, 8, 0x00, 0x10, 0x00, 0x10, nf, ...new Array(3 * nf).fill(1)];
  return Uint8Array.from([0xff, 0xd8, ...app0, ...sof]);
}

test('declaredChannels reads PNG colour types and the JPEG frame header', () => {
  assert.equal(
    declaredChannels(
      pngBytes(2, 2, 0, () => [9, 9, 9]),
      'g.png',
    ),
    1,
  );
  assert.equal(
    declaredChannels(
      pngBytes(2, 2, 4, () => [9, 9, 9]),
      'ga.png',
    ),
    1,
  );
  assert.equal(
    declaredChannels(
      pngBytes(2, 2, 2, () => [1, 2, 3]),
      'c.png',
    ),
    3,
  );
  assert.equal(
    declaredChannels(
      pngBytes(2, 2, 6, () => [1, 2, 3]),
      'ca.png',
    ),
    3,
  );
  assert.equal(declaredChannels(jpegHeader(1), 'g.jpg'), 1);
  assert.equal(declaredChannels(jpegHeader(3), 'c.jpg'), 3);
  const real = jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 128), width: 8, height: 8 }, 80).data;
  assert.equal(declaredChannels(new Uint8Array(real), 'real.jpg'), 3);
  assert.throws(() => declaredChannels(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), 'e.jpg'), {
    name: 'DataError',
    message: /e\.jpg: JPEG without a frame header/,
  });
});

test('imageToInput resizes, converts and normalises as in training', () => {
  // A 4x4 greyscale image of value 200 everywhere -> resized to 2x2, normalised (200/255 - 0.5)/0.25.
  const grey = pngBytes(4, 4, 0, () => [200, 200, 200]);
  const x = imageToInput(grey, 'g.png', [2, 2, 1], { scale: 255, mean: [0.5], std: [0.25] });
  assert.equal(x.length, 4);
  for (const v of x) assert.ok(Math.abs(v - (200 / 255 - 0.5) / 0.25) < 1e-6, String(v));
  // Colour, no resize: exact pixel values per channel, mean/std per channel.
  const colour = pngBytes(2, 1, 2, (i) => [10 * i, 100, 255]);
  const y = imageToInput(colour, 'c.png', [1, 2, 3], { scale: 255, mean: [0, 0.5, 1], std: [1, 0.5, 2] });
  const expect = [0, (100 / 255 - 0.5) / 0.5, 0, 10 / 255, (100 / 255 - 0.5) / 0.5, 0];
  y.forEach((v, i) => assert.ok(Math.abs(v - expect[i]) < 1e-6, `${i}: ${v} vs ${expect[i]}`));
  // Without normalisation: raw 0..255.
  assert.deepEqual(
    Array.from(imageToInput(colour, 'c.png', [1, 2, 3], undefined)),
    [0, 100, 255, 10, 100, 255],
  );
});

test('imageToInput converts colour to BT.601 luminance for a greyscale model and grey to three channels, saying so', () => {
  const colour = pngBytes(2, 2, 2, () => [100, 50, 200]);
  const seen: ChannelConversion[] = [];
  const grey = imageToInput(colour, 'c.png', [2, 2, 1], undefined, (c) => seen.push(c));
  const luma = Math.round(LUMA[0] * 100 + LUMA[1] * 50 + LUMA[2] * 200);
  assert.deepEqual(Array.from(grey), [luma, luma, luma, luma]);
  const g = pngBytes(2, 2, 0, () => [77, 77, 77]);
  const rgb = imageToInput(g, 'g.png', [1, 1, 3], undefined, (c) => seen.push(c));
  assert.deepEqual(Array.from(rgb), [77, 77, 77]);
  assert.deepEqual(seen, ['colour-to-grey', 'grey-to-colour']);
  assert.match(conversionText('colour-to-grey'), /BT\.601 luminance 0\.299 R \+ 0\.587 G \+ 0\.114 B/);
  // the same image at the model's channel count is not a conversion
  imageToInput(colour, 'c.png', [2, 2, 3], undefined, (c) => seen.push(c));
  assert.equal(seen.length, 2);
});

test('imageToInput refuses non-image models', () => {
  const colour = pngBytes(2, 2, 2, () => [1, 2, 3]);
  assert.throws(() => imageToInput(colour, 'c.png', [2, 2, 2], undefined), /takes 2-channel input/);
});
