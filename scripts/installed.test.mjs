/* global process, URL */
// The package as a user installs it: `npm pack` of stcsnn and of its optional native backend
// (stcsnn-libtorch), both tarballs installed with npm into an empty folder, then from there:
// ESM imports of `stcsnn` and `stcsnn/core`, `npx stcsnn --help` and `npx stcsnn encode`, and a
// TypeScript file type-checked against the shipped `.d.ts`. Catches a file missing from
// `files`, a broken `exports` map, types that are not shipped, and an install that fails where
// the native backend cannot be built (its build is skipped here: STCSNN_LIBTORCH_SKIP_BUILD).
//
// No network: the install is `npm ci --offline` from a lockfile made of the repository's own
// (the dependencies' versions and integrities), so the packages come from npm's cache, where the
// repository's `npm ci` put them. Run after `npm run build` (npm test does).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NATIVE = join(ROOT, 'packages', 'libtorch');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = {
  ...process.env,
  STCSNN_LIBTORCH_SKIP_BUILD: '1',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};

let dir = '';

/** `npm pack` of the package in `cwd` into `dir`; returns the tarball's file name. */
function pack(cwd) {
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out)[0].filename;
}

/**
 * The lockfile of a folder that depends on the two tarballs: their entries, and the entries of
 * the repository's lockfile that their dependencies resolve to (Node's lookup from each
 * package's folder up to the top), dev-only packages left out.
 */
function lockfileFor(tarballs) {
  const repo = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
  const manifests = {
    stcsnn: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')),
    'stcsnn-libtorch': JSON.parse(readFileSync(join(NATIVE, 'package.json'), 'utf8')),
  };
  const packages = {
    '': { name: 'stcsnn-installed', dependencies: {} },
  };
  const queue = [];
  for (const [name, file] of Object.entries(tarballs)) {
    const m = manifests[name];
    packages[''].dependencies[name] = `file:${file}`;
    const entry = { version: m.version, resolved: `file:${file}` };
    for (const k of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bin', 'engines', 'license'])
      if (m[k] !== undefined) entry[k] = m[k];
    if (name === 'stcsnn-libtorch') entry.hasInstallScript = true;
    packages[`node_modules/${name}`] = entry;
    queue.push(`node_modules/${name}`);
  }
  const seen = new Set();
  while (queue.length) {
    const at = queue.pop();
    if (seen.has(at)) continue;
    seen.add(at);
    const e = packages[at];
    const deps = { ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies };
    for (const dep of Object.keys(deps)) {
      if (packages[`node_modules/${dep}`]?.resolved?.startsWith('file:')) continue; // a tarball above
      // Node's lookup: at/node_modules/dep, then each folder up
      let found;
      for (let base = at; ;) {
        const p = `${base}/node_modules/${dep}`;
        if (repo[p] && !repo[p].link) {
          found = p;
          break;
        }
        const i = base.lastIndexOf('/node_modules/');
        if (i < 0) break;
        base = base.slice(0, i);
      }
      if (!found && repo[`node_modules/${dep}`] && !repo[`node_modules/${dep}`].link)
        found = `node_modules/${dep}`;
      if (!found) {
        assert.ok(
          e.optionalDependencies?.[dep] || e.peerDependencies?.[dep],
          `${at} needs ${dep}, not in package-lock.json`,
        );
        continue;
      }
      if (!packages[found]) {
        const { dev: _dev, devOptional: _devOptional, ...rest } = repo[found];
        packages[found] = rest;
      }
      queue.push(found);
    }
  }
  return { name: 'stcsnn-installed', lockfileVersion: 3, requires: true, packages };
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: 300_000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stcsnn-installed-'));
  const tarballs = { stcsnn: pack(ROOT), 'stcsnn-libtorch': pack(NATIVE) };
  const lock = lockfileFor(tarballs);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'stcsnn-installed',
        private: true,
        type: 'module',
        dependencies: lock.packages[''].dependencies,
      },
      null,
      2,
    ),
  );
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const r = spawnSync(npm, ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  assert.equal(
    r.status,
    0,
    `npm ci --offline of the packed tarballs failed${/ENOTCACHED/.test(r.stderr) ? " (a dependency is not in npm's cache: run npm ci in the repository first)" : ''}:\n${r.stderr}`,
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the installed package imports from ESM (stcsnn, stcsnn/core) and computes', () => {
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import { initBackend, buildNetwork, train } from 'stcsnn';
    import { encode, decode, stcConfig } from 'stcsnn/core';
    const info = await initBackend('auto');
    const cfg = stcConfig({ T: 4 });
    const y = decode(encode(tf.tensor1d([0.5, 2]), cfg), cfg);
    console.log(JSON.stringify({ backend: info.name, decoded: Array.from(await y.data()), train: typeof train, build: typeof buildNetwork }));
  `;
  const out = JSON.parse(
    run(process.execPath, ['--input-type=module', '-e', script]).trim().split('\n').pop(),
  );
  assert.ok(
    existsSync(join(dir, 'node_modules', 'stcsnn-libtorch', 'lib', 'index.js')),
    'stcsnn-libtorch is installed',
  );
  assert.equal(out.backend, 'wasm', 'the native build was skipped, so auto falls back to wasm');
  assert.equal(out.train, 'function');
  assert.equal(out.build, 'function');
  assert.ok(Math.abs(out.decoded[0] - 0.5) < 0.1 && out.decoded[1] > 1, `decoded ${out.decoded}`);
});

test('npx stcsnn --help and npx stcsnn encode run from the installed package', () => {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  assert.match(run(npx, ['--no', '--offline', 'stcsnn', '--help']), /Usage: stcsnn/);
  const out = JSON.parse(
    run(npx, [
      '--no',
      '--offline',
      'stcsnn',
      'encode',
      '--values',
      '0.3,1.5',
      '--T',
      '8',
      '--json',
      '--backend',
      'wasm',
    ]),
  );
  assert.equal(out.backend, 'wasm');
  assert.deepEqual(out.spikes, [
    [0, 0, 1, 0, 0, 0, 0, 0],
    [1, 1, 0, 1, 0, 0, 0, 1],
  ]);
});

test('a TypeScript file type-checks against the shipped .d.ts', () => {
  writeFileSync(
    join(dir, 'check.ts'),
    `import * as tf from '@tensorflow/tfjs-core';
import { buildNetwork, initBackend, train, type TrainHooks, type EpochMetrics } from 'stcsnn';
import { encode, stcConfig, type StcConfig } from 'stcsnn/core';
import { initBrowserBackend } from 'stcsnn/browser';

const cfg: StcConfig = stcConfig({ T: 8 });
const spikes: tf.Tensor = encode(tf.tensor1d([0.3]), cfg);
const hooks: TrainHooks = { onEpochEnd: (m: EpochMetrics) => (m.test_accuracy > 0.9 ? 'stop' : undefined) };
export const used = [spikes, hooks, buildNetwork, initBackend, train, initBrowserBackend];
// @ts-expect-error: T must be a number
stcConfig({ T: '8' });
`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        lib: ['ES2022', 'DOM'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files: ['check.ts'],
    }),
  );
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
});
