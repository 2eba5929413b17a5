/**
 * The data fingerprint: the files part changes with any byte, name or added file and not with
 * anything else (hidden files, the cache); a second fingerprint reads its hashes from the cache
 * beside the data, or from the cache folder where the data's folder is read-only; the labels
 * part changes with the order of the samples.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataFingerprint, FINGERPRINT_CACHE_NAME, fingerprintFiles, labelsHash } from './fingerprint.js';
import type { Dataset } from './types.js';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stcsnn-fp-'));
  mkdirSync(join(dir, 'train', 'cat'), { recursive: true });
  writeFileSync(join(dir, 'train', 'cat', 'a.bin'), Uint8Array.of(1, 2, 3));
  writeFileSync(join(dir, 'train', 'cat', 'b.bin'), Uint8Array.of(4, 5));
  writeFileSync(join(dir, 'labels.txt'), 'cat\n');
  return dir;
}

function fakeSet(labels: number[], source: string): Dataset {
  return {
    name: 'x',
    split: 'train',
    count: labels.length,
    shape: [1, 1, 1],
    classes: 3,
    classNames: ['a', 'b', 'c'],
    labels: Int32Array.from(labels),
    source,
    read: () => undefined,
  };
}

test('the files fingerprint: counts, bytes, and a hash that moves with a byte, a name or a new file only', () => {
  const dir = tree();
  const cache = mkdtempSync(join(tmpdir(), 'stcsnn-fpc-'));
  try {
    const a = fingerprintFiles(dir, cache);
    assert.deepEqual([a.files, a.bytes], [3, 9]);
    assert.match(a.files_sha256 ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(existsSync(join(dir, FINGERPRINT_CACHE_NAME)), 'the cache is written beside the data');
    writeFileSync(join(dir, '.hidden'), 'ignored');
    assert.deepEqual(fingerprintFiles(dir, cache), a, 'hidden files and the cache do not count');
    writeFileSync(join(dir, 'train', 'cat', 'b.bin'), Uint8Array.of(4, 6));
    const changed = fingerprintFiles(dir, cache);
    assert.notEqual(changed.files_sha256, a.files_sha256, 'a changed byte (same size) changes it');
    writeFileSync(join(dir, 'train', 'cat', 'b.bin'), Uint8Array.of(4, 5));
    assert.equal(fingerprintFiles(dir, cache).files_sha256, a.files_sha256, 'and back');
    writeFileSync(join(dir, 'train', 'cat', 'c.bin'), Uint8Array.of());
    const added = fingerprintFiles(dir, cache);
    assert.equal(added.files, 4);
    assert.notEqual(added.files_sha256, a.files_sha256);
    assert.deepEqual(fingerprintFiles(join(dir, 'nowhere'), cache), {
      files: 0,
      bytes: 0,
      files_sha256: null,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test('the files fingerprint of a read-only data folder: the same hash, the cache in the cache folder (root writes anyway)', () => {
  const dir = tree();
  const cache = mkdtempSync(join(tmpdir(), 'stcsnn-fpc-'));
  try {
    const beside = fingerprintFiles(dir, cache);
    rmSync(join(dir, FINGERPRINT_CACHE_NAME));
    chmodSync(dir, 0o555);
    const elsewhere = fingerprintFiles(dir, cache);
    assert.deepEqual(elsewhere, beside);
    if (process.getuid?.() !== 0) {
      assert.ok(!existsSync(join(dir, FINGERPRINT_CACHE_NAME)));
      assert.ok(existsSync(join(cache, 'fingerprints')), 'cached in the cache folder');
    }
  } finally {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test('the data fingerprint: one source hashed once, the labels in reader order, embedded data by its labels alone', () => {
  const dir = tree();
  try {
    const train = fakeSet([0, 1, 2, 1], dir);
    const test = { ...fakeSet([2, 0], dir), split: 'test' as const };
    const f = dataFingerprint(train, test);
    assert.deepEqual([f.files, f.train_samples, f.test_samples, f.source], [3, 4, 2, dir]);
    assert.equal(f.labels_sha256, labelsHash(train, test));
    const reordered = dataFingerprint(fakeSet([1, 0, 2, 1], dir), test);
    assert.equal(reordered.files_sha256, f.files_sha256);
    assert.notEqual(reordered.labels_sha256, f.labels_sha256, 'another sample order is other data read');
    const embedded = dataFingerprint(fakeSet([0, 1], 'embedded'), {
      ...fakeSet([1], 'embedded'),
      split: 'test',
    });
    assert.deepEqual([embedded.files, embedded.files_sha256], [0, null]);
    assert.match(embedded.labels_sha256, /^sha256:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
