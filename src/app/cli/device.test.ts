import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './cli-run.test-support.js';

const run = (...args: string[]) => runCli(args, { timeout: 120_000 });

test('--device cuda with --backend auto gives the native backend’s real reason, not “needs libtorch”', () => {
  const r = run('encode', '--values', '0.5', '--device', 'cuda', '--json');
  if (r.code === 0) {
    // a machine with a CUDA libtorch and a GPU: auto picked it
    assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, 'libtorch');
    return;
  }
  assert.equal(r.code, 2, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
  assert.equal(errors.length, 1, r.stderr);
  // the reason the native backend cannot serve cuda (a CPU-only libtorch, no GPU, no addon)
  assert.doesNotMatch(errors[0], /needs the libtorch backend; the wasm backend runs on the CPU/);
  assert.match(errors[0], /cuda|CUDA|GPU|libtorch/);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'backend');
  // an explicit CPU backend with cuda is refused as a contradiction
  const wasm = run('encode', '--values', '0.5', '--device', 'cuda', '--backend', 'wasm');
  assert.equal(wasm.code, 2);
  assert.match(wasm.stderr, /device cuda needs the libtorch backend; the wasm backend runs on the CPU/);
});

test('--help of every command lists --device', () => {
  for (const c of ['train', 'eval', 'energy', 'predict', 'encode']) {
    const r = run(c, '--help');
    assert.match(r.stdout, /--device <device>\s+device for the native backend: cpu or cuda/, c);
  }
});
