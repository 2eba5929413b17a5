#!/usr/bin/env node
// The test suite: node's test runner over the compiled tests (dist/) and the native backend's
// package tests, first on the wasm backend, then again on the libtorch backend when its addon
// is built here (STCSNN_TEST_BACKEND selects the backend the tests initialise).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const paths = ['dist/', ...(existsSync('packages/libtorch/test') ? ['packages/libtorch/test/'] : [])];

function run(backend) {
  console.log(`\n=== test suite on the ${backend} backend ===`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...paths], {
    stdio: 'inherit',
    env: { ...process.env, STCSNN_TEST_BACKEND: backend },
  });
  return r.status ?? 1;
}

function libtorchAvailable() {
  const probe = `import('stcsnn-libtorch').then(m => m.registerLibtorchBackend({})).then(() => process.exit(0), () => process.exit(1))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

let code = run('wasm');
if (libtorchAvailable()) code = run('libtorch') || code;
else console.log('\nlibtorch backend not built here: the suite ran on wasm only (see packages/libtorch/README.md)');
process.exit(code);
