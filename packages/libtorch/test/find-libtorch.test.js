/**
 * scripts/find-libtorch.js on a pip-layout torch (`site-packages/torch/{include,lib}`) found
 * through a Python interpreter: a fake tree and a fake interpreter that reports it, as
 * `python3 -c "import torch, os; ..."` does (its directory, then its C++ ABI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'find-libtorch.js');

/** A fake pip torch 2.11.0 (with CUDA libraries when `cuda`) and an interpreter reporting `abi`. */
function fixture(cuda, abi) {
  const root = mkdtempSync(join(tmpdir(), 'stcsnn-find-libtorch-'));
  const torch = join(root, 'site-packages', 'torch');
  const inc = join(torch, 'include');
  mkdirSync(join(inc, 'ATen'), { recursive: true });
  writeFileSync(join(inc, 'ATen', 'ATen.h'), '');
  mkdirSync(join(inc, 'torch', 'csrc', 'api', 'include', 'torch'), { recursive: true });
  writeFileSync(
    join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'),
    '#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION "2.11.0"\n',
  );
  mkdirSync(join(torch, 'lib'));
  const libs = ['libtorch.so', 'libtorch_cpu.so', 'libc10.so'];
  if (cuda) libs.push('libtorch_cuda.so', 'libc10_cuda.so');
  for (const l of libs) writeFileSync(join(torch, 'lib', l), '');
  const py = join(root, 'python3');
  writeFileSync(py, `#!/bin/sh\necho '${torch}'\necho ${abi}\n`);
  chmodSync(py, 0o755);
  return { root, torch, py };
}

/** Runs the script with PYTHON=py (and extra env); returns its JSON. */
function find(py, env = {}) {
  const e = { ...process.env, PYTHON: py, ...env };
  delete e.LIBTORCH;
  delete e.STCSNN_LIBTORCH_FOUND;
  return JSON.parse(execFileSync(process.execPath, [script, 'json'], { encoding: 'utf8', env: e }));
}

test('a CUDA pip torch is found from its interpreter, with its ABI, version and CUDA libraries', () => {
  const f = fixture(true, 0);
  try {
    const r = find(f.py);
    assert.equal(r.prefix, f.torch);
    assert.equal(r.libdir, join(f.torch, 'lib'));
    assert.deepEqual(r.include, [
      join(f.torch, 'include'),
      join(f.torch, 'include', 'torch', 'csrc', 'api', 'include'),
    ]);
    assert.equal(r.abi, 0);
    assert.equal(r.cuda, 1);
    assert.equal(r.version, '2.11.0');
    assert.match(r.source, /python torch/);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test('STCSNN_LIBTORCH_FROM=python takes a CPU pip torch (cxx11 ABI) even where Debian libtorch-dev is installed', () => {
  const f = fixture(false, 1);
  try {
    const r = find(f.py, { STCSNN_LIBTORCH_FROM: 'python' });
    assert.equal(r.prefix, f.torch);
    assert.equal(r.abi, 1);
    assert.equal(r.cuda, 0);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test('a bad STCSNN_LIBTORCH_FROM is a one-line error', () => {
  assert.throws(
    () =>
      execFileSync(process.execPath, [script, 'json'], {
        env: { ...process.env, STCSNN_LIBTORCH_FROM: 'conda' },
        stdio: 'pipe',
      }),
    (e) => /STCSNN_LIBTORCH_FROM must be python or debian; got conda\n$/.test(String(e.stderr)),
  );
});
