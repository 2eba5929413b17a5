#!/usr/bin/env node
/**
 * The install step of stcsnn-libtorch: tries to build the addon with node-gyp and NEVER fails
 * the install. Where it cannot build (no libtorch, no compiler), it prints one line saying why
 * the backend is unavailable and exits 0; `--backend auto` then uses wasm.
 *
 * `--verbose` shows the compiler output (it goes to build/build.log otherwise), always rebuilds
 * and exits 1 on a failed build (for `npm run build` by hand). Otherwise an addon newer than its
 * sources is kept, and a build already running (`.build-lock`) is not started twice. `STCSNN_LIBTORCH_SKIP_BUILD=1` skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose');

/** @param {string} why @returns {never} */
function unavailable(why) {
  process.stdout.write(
    `stcsnn-libtorch: native backend unavailable (${why}); --backend auto will use wasm\n`,
  );
  return process.exit(verbose ? 1 : 0);
}

if (process.env.STCSNN_LIBTORCH_SKIP_BUILD === '1') unavailable('STCSNN_LIBTORCH_SKIP_BUILD=1');

/** @type {ReturnType<typeof findLibtorch>} */
let found;
try {
  found = findLibtorch();
} catch (e) {
  unavailable(/** @type {Error} */ (e).message);
}

/** @returns {string[] | undefined} the command that runs node-gyp */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const req = createRequire(import.meta.url);
  for (const p of [
    'node-gyp/bin/node-gyp.js',
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ]) {
    try {
      return [process.execPath, req.resolve(p)];
    } catch {
      if (p.startsWith('/') && existsSync(p)) return [process.execPath, p];
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v node-gyp'], { encoding: 'utf8' });
  return which.status === 0 ? [which.stdout.trim()] : undefined;
}

/** @returns {number} newest modification time of the addon's sources */
function newestSource() {
  const files = ['binding.gyp', ...readdirSync(join(root, 'src')).map((f) => join('src', f))];
  return Math.max(...files.map((f) => statSync(join(root, f)).mtimeMs));
}

const addon = join(root, 'build', 'Release', 'stcsnn_libtorch.node');
/** What the addon was built against (read by lib/native.js to name both versions on a mismatch). */
const builtFor = join(root, 'build', 'Release', 'libtorch.json');
/** @returns {boolean} whether the addon was built against the libtorch found now */
function sameLibtorch() {
  try {
    const b = JSON.parse(readFileSync(builtFor, 'utf8'));
    return b.libdir === found.libdir && b.version === found.version && b.cuda === found.cuda;
  } catch {
    return false;
  }
}
const force = process.argv.includes('--force') || verbose;
if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newestSource() && sameLibtorch()) {
  process.stdout.write('stcsnn-libtorch: native backend already built (up to date)\n');
  process.exit(0);
}
// One build at a time (several `npm install`s may run at once in a shared checkout).
const lock = join(root, '.build-lock');
try {
  mkdirSync(lock);
} catch {
  if (Date.now() - statSync(lock).mtimeMs < 20 * 60 * 1000) {
    process.stdout.write(
      'stcsnn-libtorch: another build of the native backend is running; not building again\n',
    );
    process.exit(0);
  }
}
process.on('exit', () => rmSync(lock, { recursive: true, force: true }));

const gyp = nodeGyp();
if (!gyp) unavailable('node-gyp not found: install npm (it ships node-gyp) or `npm i -g node-gyp`');
// Configured already (and binding.gyp unchanged): an incremental build, which keeps the old
// addon in place until the new one is linked (tests may be using it meanwhile).
const configured =
  existsSync(join(root, 'build', 'Makefile')) &&
  statSync(join(root, 'build', 'Makefile')).mtimeMs >= statSync(join(root, 'binding.gyp')).mtimeMs &&
  sameLibtorch();
const args = [...gyp.slice(1), configured ? 'build' : 'rebuild', '-j', 'max'];
if (existsSync('/usr/include/node/node_api.h') && !process.env.npm_config_nodedir)
  args.push('--nodedir=/usr');
// in the lock directory: `node-gyp rebuild` empties build/ first
const foundFile = join(lock, 'libtorch-found.json');
writeFileSync(foundFile, JSON.stringify(found));
const r = spawnSync(gyp[0], args, {
  cwd: root,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  env: { ...process.env, STCSNN_LIBTORCH_FOUND: foundFile },
});
if (r.status !== 0) {
  if (!verbose) {
    mkdirSync(join(root, 'build'), { recursive: true });
    writeFileSync(join(root, 'build', 'build.log'), `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  }
  const err =
    `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? `node-gyp exited with ${r.status}`;
  unavailable(`build failed: ${err.trim().slice(0, 200)}; see packages/libtorch/build/build.log`);
}
writeFileSync(builtFor, JSON.stringify(found, null, 2) + '\n');
process.stdout.write(
  `stcsnn-libtorch: native backend built against torch ${found.version}${found.cuda ? ' with CUDA' : ''} (${found.source})\n`,
);
