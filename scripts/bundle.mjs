#!/usr/bin/env node
// `npm run bundle`: the CLI as one JavaScript file, bundle/stcsnn.mjs, runnable as
// `node bundle/stcsnn.mjs ...` where only node (and, for --backend libtorch, the compiled addon)
// exist. Beside it: the wasm backend's .wasm files (found through __dirname), the data loader's
// worker (loader-worker.js, found beside the importing module), the embedded Fashion-MNIST
// subset (assets/), bundle/run-stcsnn.mjs (bench/run-stcsnn.js, the training-step timer) and
// bundle/libtorch-test/ (the native backend's tests).
// The native addon is not bundled: set STCSNN_LIBTORCH_ADDON to its path (with libtorch.json,
// written by its build, beside it). @resvg/resvg-js (PNG charts) is native and left out: where it
// is missing, charts are written as SVG only. Needs `npm run build` first.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bundle');
const require = createRequire(import.meta.url);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** Paths relative to dist/<dir>/ that point at the package's assets/ point at bundle/assets/. */
const assetsPlugin = {
  name: 'assets-beside-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll("'../../assets/", "'./assets/"),
      loader: 'js',
    }));
  },
};

/** esbuild options both bundles share (the CLI's and the native tests'). */
const COMMON = {
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // tfjs-backend-cpu's package.json marks its node entry side-effect free, but importing it
  // registers the cpu backend: keep such imports.
  ignoreAnnotations: true,
  // whitespace and syntax only: names stay readable in --debug stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
};

await build({
  entryPoints: {
    stcsnn: join(root, 'dist', 'app', 'cli', 'main.js'),
    'run-stcsnn': join(root, 'bench', 'run-stcsnn.js'),
    'loader-worker': join(root, 'dist', 'lib', 'data', 'loader-worker.js'),
  },
  outdir: out,
  ...COMMON,
  external: ['@resvg/resvg-js', 'onnxruntime-node'],
  plugins: [assetsPlugin],
  banner: {
    js: [
      "import { createRequire as __stcCreateRequire } from 'node:module';",
      "import { fileURLToPath as __stcFileURLToPath } from 'node:url';",
      "import { dirname as __stcDirname } from 'node:path';",
      'const require = __stcCreateRequire(import.meta.url);',
      'const __filename = __stcFileURLToPath(import.meta.url);',
      'const __dirname = __stcDirname(__filename);',
    ].join('\n'),
  },
});
// the worker is loaded as './loader-worker.js' from the module that starts it
cpSync(join(out, 'loader-worker.mjs'), join(out, 'loader-worker.js'));
rmSync(join(out, 'loader-worker.mjs'));
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
]) {
  cpSync(join(wasmDir, f), join(out, f));
}
cpSync(join(root, 'assets'), join(out, 'assets'), { recursive: true });

// The native backend's tests (but models, find-libtorch and version-mismatch, which need the
// repository's dist/ and scripts/), for
// `node --test bundle/libtorch-test/` where only node and the addon exist (scripts/gpu-check.sh).
const testDir = join(root, 'packages', 'libtorch', 'test');
const tests = readdirSync(testDir).filter(
  (f) =>
    f.endsWith('.test.js') &&
    !['models.test.js', 'find-libtorch.test.js', 'version-mismatch.test.js'].includes(f),
);
await build({
  entryPoints: tests.map((f) => join(testDir, f)),
  outdir: join(out, 'libtorch-test'),
  ...COMMON,
  splitting: true,
  banner: {
    js: "import { createRequire as __stcCreateRequire } from 'node:module';\nconst require = __stcCreateRequire(import.meta.url);",
  },
});
cpSync(join(testDir, 'esm-hooks.js'), join(out, 'libtorch-test', 'esm-hooks.js'));
process.stdout.write(`bundle: ${out}/stcsnn.mjs (node bundle/stcsnn.mjs --help)\n`);
