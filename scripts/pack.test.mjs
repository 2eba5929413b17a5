// What `npm pack` would publish (package.json `files`), checked against the module graph of the
// built package (run after `npm run build`): the compiled modules in the package are exactly
// those reachable from its entry points (`exports`, `main`, `bin`), following static and dynamic
// imports and `new URL('./x.js', import.meta.url)` (worker scripts). So no test, test helper or
// test worker is shipped, whatever it is called, and nothing the package needs is left out.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

let packed;
/** The files `npm pack` would include (no scripts run, nothing written). */
function packedFiles() {
  packed ??= npmPackDryRun();
  return packed;
}

function npmPackDryRun() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out)[0].files.map((f) => f.path);
}

/** Relative module specifiers a compiled ES module refers to. */
function references(source) {
  const refs = [];
  const patterns = [
    /\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/g,
    /\bimport\s+['"](\.{1,2}\/[^'"]+)['"]/g,
    /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    /\bnew URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) refs.push(m[1]);
  return refs;
}

/** Every `dist/` module reachable from the package's entry points. */
function reachableModules() {
  const exportsTargets = Object.values(pkg.exports ?? {}).flatMap((e) =>
    typeof e === 'string' ? [e] : Object.values(e),
  );
  const entries = [pkg.main, ...Object.values(pkg.bin ?? {}), ...exportsTargets]
    .filter((p) => typeof p === 'string' && p.endsWith('.js'))
    .map((p) => normalize(p));
  const seen = new Set();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    assert.ok(existsSync(join(ROOT, file)), `${file} is referenced but not built (run npm run build)`);
    seen.add(file);
    for (const ref of references(readFileSync(join(ROOT, file), 'utf8'))) {
      if (ref.endsWith('.js') || ref.endsWith('.mjs')) queue.push(normalize(join(dirname(file), ref)));
      // a data file a module reads beside itself (new URL(..., import.meta.url)): shipped, not parsed
      else if (ref.endsWith('.json')) seen.add(normalize(join(dirname(file), ref)));
    }
  }
  return seen;
}

test('the package ships exactly the modules reachable from its entry points (no tests or test helpers)', () => {
  const files = packedFiles();
  const reachable = reachableModules();
  const dist = files.filter((f) => f.startsWith('dist/'));
  const moduleOf = (f) => f.replace(/\.d\.ts$|\.js\.map$|\.d\.ts\.map$/, '.js');
  const extra = dist.filter((f) => !reachable.has(moduleOf(f)));
  assert.deepEqual(
    extra,
    [],
    `packed but used by no entry point (tests or their helpers?): ${extra.join(', ')}`,
  );
  const missing = [...reachable].filter((m) => !files.includes(m));
  assert.deepEqual(missing, [], `needed but not packed: ${missing.join(', ')}`);
  for (const f of files) assert.doesNotMatch(f, /\.test\.|(^|\/)test(ing|util)\./, `${f} is a test file`);
});

test('the package ships the entry points, the embedded data set and the docs', () => {
  const files = new Set(packedFiles());
  for (const f of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/app/cli/main.js',
    'README.md',
    'docs/semantics.md',
    // the pages README.md links for what it no longer holds
    'docs/cli.md',
    'docs/reproduce.md',
    'docs/library.md',
    'docs/bench.md',
    'docs/tests.md',
    'assets/fashion-mnist-mini/train-images-idx3-ubyte.gz',
  ]) {
    assert.ok(files.has(f), `${f} is not in the package`);
  }
});
