#!/usr/bin/env node
/**
 * Writes the embedded Fashion-MNIST subset `assets/fashion-mnist-mini/` from the full files.
 *
 * Selection (deterministic, stratified): for each class 0..9, the first 400 training images
 * and the first 100 test images of that class in file order; the chosen images keep their
 * file order. Output: the four files under their official names, gzipped IDX, plus
 * `indices.json` (the original indices taken) and `LICENSE.md`.
 *
 * Usage: npm run build && node scripts/make-embedded-fmnist.mjs [SOURCE_DIR]
 * (SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importBuilt, scriptArgs } from './script-cli.mjs';

const USAGE = `Usage: node scripts/make-embedded-fmnist.mjs [SOURCE_DIR]   (after npm run build)

Writes assets/fashion-mnist-mini/ (the first 400 training and 100 test images of each class,
gzipped IDX, indices.json) from the full Fashion-MNIST files in SOURCE_DIR
(default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).`;
const { positionals } = scriptArgs(import.meta.url, { usage: USAGE, positionals: 1 });
const { encodeIdx, readIdxImageSet } = await importBuilt('dist/lib/data/readers/idx.js');
const { FASHION_MNIST_FILES, findIdxFile, checkFashionMnistChecksums } = await importBuilt(
  'dist/lib/data/readers/fashion-mnist.js',
);

const PER_CLASS = { train: 400, test: 100 };
const src = positionals[0] ?? '/usr/share/datasets/fashion-mnist';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'assets', 'fashion-mnist-mini');
mkdirSync(out, { recursive: true });

const ok = checkFashionMnistChecksums(src);
if (ok !== true) {
  console.error(`${src}: the source files do not match the official Fashion-MNIST checksums (${ok})`);
  process.exit(2);
}

function writeAtomic(path, bytes) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const indices = {};
for (const split of ['train', 'test']) {
  const f = FASHION_MNIST_FILES[split];
  const set = readIdxImageSet(findIdxFile(src, f.images), findIdxFile(src, f.labels), 10);
  const taken = new Array(10).fill(0);
  const chosen = [];
  for (let i = 0; i < set.count; i++) {
    const c = set.labels[i];
    if (taken[c] < PER_CLASS[split]) {
      taken[c]++;
      chosen.push(i);
    }
  }
  if (taken.some((t) => t !== PER_CLASS[split])) throw new Error(`${split}: not enough images per class`);
  const px = set.rows * set.cols;
  const images = new Uint8Array(chosen.length * px);
  const labels = new Uint8Array(chosen.length);
  chosen.forEach((i, k) => {
    images.set(set.images.subarray(i * px, (i + 1) * px), k * px);
    labels[k] = set.labels[i];
  });
  writeAtomic(join(out, `${f.images}.gz`), encodeIdx([chosen.length, set.rows, set.cols], images, true));
  writeAtomic(join(out, `${f.labels}.gz`), encodeIdx([chosen.length], labels, true));
  indices[split] = chosen;
  console.log(
    `${split}: ${chosen.length} images (${PER_CLASS[split]} per class), last index ${chosen.at(-1)}`,
  );
}
writeAtomic(join(out, 'indices.json'), `${JSON.stringify(indices)}\n`);
console.log(`wrote ${out}`);
