/**
 * The pool allocator of ATen's large blocks (src/alloc.cc): installed by default, blocks come
 * back for reuse (repeated allocation touches no new memory), freed neighbours merge (a block
 * twice their size fits where they were), and pooled memory holds its values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setup, cpuOnlyReason, tf } from './helpers.js';
import { libtorchInfo, releaseLibtorchMemory } from '../lib/index.js';

const MB = 2 ** 20;

test(
  'large blocks are pooled: reused, merged when adjacent, and hold their values',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    await tf.setBackend('libtorch');
    const pool = () => libtorchInfo().pool;
    assert.equal(
      pool().installed,
      process.env.STCSNN_LIBTORCH_ALLOCATOR !== 'malloc',
      'installed by default',
    );
    if (!pool().installed) return;
    const n = (3 * MB) / 4; // 3 MiB of float32
    const values = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 7);

    // allocate and free the same size over and over: the pool touches no new memory
    tf.dispose(tf.tensor1d(values));
    const touched = pool().touched;
    const inUse = pool().inUse;
    for (let i = 0; i < 20; i++) {
      const t = tf.tensor1d(values);
      assert.ok(pool().inUse >= inUse + 3 * MB, 'a 3 MiB tensor is pooled');
      t.dispose();
    }
    assert.equal(pool().inUse, inUse, 'freed blocks leave the in-use count');
    assert.equal(pool().touched, touched, 'reuse touches no new memory');

    // two adjacent 3 MiB blocks, freed, merge: a 6 MiB block fits where they were
    const a = tf.tensor1d(values);
    const b = tf.tensor1d(values);
    const before = pool().touched;
    tf.dispose([a, b]);
    const twice = new Float32Array(2 * n);
    twice.set(values);
    twice.set(values, n);
    const big = tf.tensor1d(twice);
    assert.ok(
      pool().touched <= before,
      `merged blocks serve a block of twice the size (touched ${pool().touched} > ${before})`,
    );

    // pooled memory holds what was written
    const back = big.dataSync();
    assert.equal(back.length, 2 * n);
    assert.equal(back[n + 999], values[999]);
    assert.equal(back[12345], values[12345]);
    big.dispose();
  },
);

test(
  'releaseLibtorchMemory gives free pooled memory back to the system, and the pool still works',
  { skip: cpuOnlyReason },
  async () => {
    await setup();
    await tf.setBackend('libtorch');
    if (!libtorchInfo().pool.installed) return;
    const residentMb = () => (Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096) / MB;
    const n = (64 * MB) / 4;
    const t = tf.fill([n], 1); // 64 MiB written: resident (2^24 ones: every partial sum exact)
    assert.equal(tf.sum(t).dataSync()[0], n);
    t.dispose();
    const before = residentMb();
    const released = releaseLibtorchMemory();
    const after = residentMb();
    assert.ok(released >= 64 * MB, `released ${released} bytes`);
    assert.ok(before - after >= 48, `resident memory ${before.toFixed(0)} -> ${after.toFixed(0)} MB`);
    const again = tf.fill([n], 2); // the released pages serve again (faulted in afresh)
    assert.equal(tf.sum(again).dataSync()[0], 2 * n);
    again.dispose();
  },
);
