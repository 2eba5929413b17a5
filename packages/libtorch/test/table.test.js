/**
 * The fused kernels follow the kernel table (lib/kernel-table.js, generated from stcsnn's
 * src/lib/core/kernels/table.ts): one native kernel per name of the table and no other stcsnn
 * kernel, and the copy here is the table the compiled stcsnn (dist/ at the repository root)
 * uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setup, skipReason, tf } from './helpers.js';
import { nativeKernelNames } from '../lib/index.js';
import { KERNELS, KERNEL_NAMES } from '../lib/kernel-table.js';
import { stcKernels } from '../lib/kernels.js';

const distTable = fileURLToPath(new URL('../../../dist/lib/core/kernels/table.js', import.meta.url));

test('stcKernels implements exactly the kernels of the table', () => {
  assert.deepEqual(Object.keys(stcKernels({})).sort(), [...KERNEL_NAMES].sort());
});

test(
  "the backend's native stcsnn kernels are the table's, none falling back",
  { skip: skipReason },
  async () => {
    await setup();
    const stc = nativeKernelNames().filter((n) => n.startsWith('Stc'));
    assert.deepEqual(stc, [...KERNEL_NAMES].sort());
    for (const n of KERNEL_NAMES) assert.ok(tf.getKernel(n, 'libtorch'), n);
  },
);

test(
  "lib/kernel-table.js is the compiled stcsnn's table",
  { skip: existsSync(distTable) ? undefined : 'stcsnn is not compiled (run npm run build at the root)' },
  async () => {
    const main = await import(distTable);
    assert.deepEqual(KERNELS, main.KERNELS);
  },
);
