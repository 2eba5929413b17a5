#!/usr/bin/env node
// The test suite: node's test runner over the compiled tests (dist/) and the native backend's
// package tests, first on the wasm backend, then again on the libtorch backend when its addon
// is built here (STCSNN_TEST_BACKEND selects the backend the tests initialise).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { scriptArgs } from './script-cli.mjs';

scriptArgs(import.meta.url, {
  usage: `Usage: node scripts/test.mjs   (npm test: build, lint, then this; no options)

Runs node's test runner over dist/ and packages/libtorch/test/*.test.js on the wasm backend,
then again on libtorch where its addon is built; scripts/*.test.mjs (the packed and installed
package, the examples, the documented command lines) run once, with the wasm pass. One file:
node --test dist/<path>.test.js (STCSNN_TEST_BACKEND=wasm|libtorch selects the backend).`,
});

// The native backend's test files by name: node's runner would take every .js file under a
// `test/` folder for a test file, its helpers too.
const nativeTests = existsSync('packages/libtorch/test')
  ? readdirSync('packages/libtorch/test')
      .filter((n) => n.endsWith('.test.js'))
      .sort()
      .map((n) => `packages/libtorch/test/${n}`)
  : [];
const paths = ['dist/', ...nativeTests];
// The repository's own checks (the package's contents, the package installed from its tarball,
// the examples, the scripts' command lines, the documented command lines) choose no backend of
// the suite's: they run once, with the wasm pass.
const repoTests = readdirSync('scripts')
  .filter((n) => n.endsWith('.test.mjs'))
  .sort()
  .map((n) => `scripts/${n}`);

function run(backend, extra = []) {
  console.log(`\n=== test suite on the ${backend} backend ===`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...paths, ...extra], {
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

let code = run('wasm', repoTests);
if (libtorchAvailable()) code = run('libtorch') || code;
else console.log('\nlibtorch backend not built here: the suite ran on wasm only (see packages/libtorch/README.md)');
process.exit(code);
