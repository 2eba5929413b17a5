/** The embedded Fashion-MNIST subset (assets/fashion-mnist-mini), fetched and parsed in the page. */
import { parseIdxRaw } from '../../src/browser.js';
import trainImagesUrl from '../../assets/fashion-mnist-mini/train-images-idx3-ubyte.gz?url';
import trainLabelsUrl from '../../assets/fashion-mnist-mini/train-labels-idx1-ubyte.gz?url';
import testImagesUrl from '../../assets/fashion-mnist-mini/t10k-images-idx3-ubyte.gz?url';
import testLabelsUrl from '../../assets/fashion-mnist-mini/t10k-labels-idx1-ubyte.gz?url';

/** Images `[count, 28, 28]` as raw 0..255 bytes with labels. */
export interface ImageSet {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot fetch ${url} (HTTP ${r.status})`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  // A server may have inflated it already (Content-Encoding): gzip only when the magic says so.
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function openSet(imagesUrl: string, labelsUrl: string, name: string): Promise<ImageSet> {
  const [ib, lb] = await Promise.all([fetchBytes(imagesUrl), fetchBytes(labelsUrl)]);
  const images = parseIdxRaw(ib, `${name} images`, 'images');
  const labels = parseIdxRaw(lb, `${name} labels`, 'labels');
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${name}: ${count} images but ${labels.dims[0]} labels`);
  return { count, rows, cols, pixels: images.data, labels: labels.data };
}

let train: Promise<ImageSet> | undefined;
let test: Promise<ImageSet> | undefined;

/** The embedded training subset (4,000 images), fetched once. */
export function trainSet(): Promise<ImageSet> {
  train ??= openSet(trainImagesUrl, trainLabelsUrl, 'train');
  return train;
}

/** The embedded test subset (1,000 images), fetched once. */
export function testSet(): Promise<ImageSet> {
  test ??= openSet(testImagesUrl, testLabelsUrl, 'test');
  return test;
}
