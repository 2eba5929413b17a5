import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TINY_LIMITS, runCli } from './cli-run.test-support.js';

const run = (...args: string[]) => runCli(args, { timeout: 300_000 });

test('--precision bf16 on the wasm backend: one line naming the backend, exit 2; an unknown precision too', () => {
  const r = run('encode', '--values', '0.5', '--backend', 'wasm', '--precision', 'bf16');
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'stcsnn: error: precision bf16 needs the libtorch backend; the wasm backend computes in float32',
  ]);
  const bad = run('encode', '--values', '0.5', '--precision', 'fp16');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--precision.*fp16/);
});

test('--help of every command lists --precision', () => {
  for (const c of ['train', 'eval', 'energy', 'predict', 'sweep', 'reproduce']) {
    const r = run(c, '--help');
    assert.match(r.stdout, /--precision <p>\s+bf16: convolutions in bfloat16/, c);
  }
});

test(
  'train --precision bf16 records bf16 in the run, and a resume in fp32 says the precision changed',
  { skip: process.env.STCSNN_TEST_BACKEND === 'libtorch' ? undefined : 'needs STCSNN_TEST_BACKEND=libtorch' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'stcsnn-precision-'));
    try {
      const out = join(dir, 'run');
      const common = [...TINY_LIMITS, '--batch-size', '32', '--backend', 'libtorch'];
      const r = run('train', '--epochs', '1', ...common, '--precision', 'bf16', '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
        provenance: { machine: { precision: string } };
      };
      assert.equal(config.provenance.machine.precision, 'bf16');
      const again = run('train', '--resume', out, '--epochs', '2', '--backend', 'libtorch', '--json');
      assert.equal(again.code, 0, again.stderr);
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
        provenance: { machine: { precision: string }; changed_since_start: string[] };
      };
      assert.equal(result.provenance.machine.precision, 'fp32');
      assert.ok(result.provenance.changed_since_start.includes('machine.precision'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
