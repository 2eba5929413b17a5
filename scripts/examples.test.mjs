/* global process, URL */
// The examples (examples/*.ts) as a user runs them: compiled with examples/tsconfig.json (they
// import the package by its name, which resolves to this package through its `exports`), each
// run with node and checked for its exit code and the line of output that matters. The browser
// example is type-checked, built with Vite and, where Debian's chromium is installed
// (STCSNN_CHROMIUM names another binary), loaded in it headless (playwright-core).
// Run after `npm run build` (npm test does). The examples choose their backend with
// `initBackend('auto')`: libtorch where it is built, else wasm.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const CHROMIUM = process.env.STCSNN_CHROMIUM ?? '/usr/bin/chromium';
const temp = mkdtempSync(join(tmpdir(), 'stcsnn-examples-'));

/** Runs `node args` in the repository; asserts exit code 0 and returns stdout. */
function node(args, timeout = 120_000) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout });
  assert.equal(r.status, 0, `node ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs a compiled example; returns its stdout. */
const example = (name, ...args) => node([join('examples', 'dist', `${name}.js`), ...args]);

/** The number captured by `re` in `out`. */
function number(out, re) {
  const m = out.match(re);
  assert.ok(m, `no line matching ${re} in:\n${out}`);
  return Number(m[1]);
}

after(() => rmSync(temp, { recursive: true, force: true }));

describe('examples (node)', () => {
  before(() => {
    node([TSC, '-p', join('examples', 'tsconfig.json')]);
  });

  test('01-encode-decode: spike trains, CAB decoding, and the fused quantiser equal to them', () => {
    const out = example('01-encode-decode');
    assert.match(out, /x = {2}0\.30 {2}spikes \.\.\|\.\.\.\.\. {2}decoded 0\.2943/);
    assert.match(out, /x = {2}3\.00 {2}spikes \|{8} {2}decoded 1\.9960/); // saturates at S = sum theta
    assert.equal(number(out, /max \|difference\| (\S+)/), 0);
  });

  test('02-custom-network: a network of StcConv2d/StcLinear learns with a hand-written loop', () => {
    const out = example('02-custom-network');
    assert.ok(number(out, /train loss (\S+)/) < Math.log(10), 'training loss below chance');
    assert.ok(number(out, /test accuracy (\S+) %/) > 20, 'test accuracy above chance (10 %)');
  });

  test('03-train-with-hooks: train() with hooks, then the best checkpoint evaluated', () => {
    const runDir = join(temp, 'run');
    const out = example('03-train-with-hooks', runDir);
    assert.match(out, /^epoch 1\/4 \.+ loss \S+, test accuracy \S+ %$/m);
    assert.ok(existsSync(join(runDir, 'best.safetensors')));
    const epochs = number(out, /trained (\d+) epoch/);
    assert.ok(epochs >= 1 && epochs <= 4);
    assert.ok(number(out, /best checkpoint: test accuracy (\S+) %/) > 20);
    assert.equal(out.match(/fire rate/g)?.length, 7, 'a fire rate per STCB of VGG11');
  });

  test('04-spikes-and-energy: the shipped model, its spikes and its energy against the ANN twin', () => {
    const out = example('04-spikes-and-energy');
    assert.ok(number(out, /^test accuracy (\S+) %/m) > 70, 'the playground model (76.9 % on 1,000 images)');
    const ratio = number(out, /energy ratio ANN\/STCSNN: (\S+)x/);
    assert.ok(ratio > 1 && ratio < 100, `ratio ${ratio}`);
  });

  test('05-onnx: onnxruntime-node computes the logits stcsnn computes', () => {
    const out = example('05-onnx');
    assert.ok(number(out, /max \|difference\| of the logits (\S+),/) <= 1e-4);
    assert.match(out, /same class for 16\/16 images/);
  });
});

test("the README's shortest program (Use it as a library) type-checks against the package", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'));
  const code = section.match(/```ts\n([\s\S]*?)```/)?.[1];
  assert.ok(code, 'no ts block under "Use it as a library"');
  const dir = join(ROOT, 'examples', 'dist'); // inside the package, so 'stcsnn' resolves to it
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'readme-snippet.ts');
  writeFileSync(file, `${code}export {};\n`);
  const opts = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext'];
  node([TSC, ...opts, '--moduleResolution', 'nodenext', '--types', 'node', file]);
});

describe('examples (browser)', () => {
  const outDir = join(temp, 'browser');

  before(() => {
    node([TSC, '-p', join('examples', 'browser', 'tsconfig.json')]);
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    node([
      vite,
      'build',
      '--config',
      join('examples', 'browser', 'vite.config.ts'),
      '--outDir',
      outDir,
      '--logLevel',
      'warn',
    ]);
  });

  test('the page type-checks and builds with Vite', () => {
    assert.ok(existsSync(join(outDir, 'index.html')));
  });

  test(
    'the page runs in chromium: spike trains and the model accuracy',
    { skip: existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}` },
    async () => {
      const { chromium } = await import('playwright-core');
      const { preview } = await import('vite');
      const server = await preview({
        configFile: join(ROOT, 'examples', 'browser', 'vite.config.ts'),
        build: { outDir },
        preview: { port: 0, host: '127.0.0.1' },
        logLevel: 'silent',
      });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox'],
      });
      try {
        const page = await browser.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        // generous limits: a loaded 2-core machine takes a while to start chromium and the page
        await page.goto(server.resolvedUrls.local[0], { waitUntil: 'commit', timeout: 300_000 });
        await page.waitForSelector('body[data-done="true"]', { timeout: 300_000 });
        assert.deepEqual(errors, []);
        assert.match(await page.textContent('#status'), /backend: wasm/);
        assert.match(await page.textContent('#trains'), /x = 0\.30 {2}\.\.\|\.\.\.\.\./);
        const acc = number(await page.textContent('#result'), /accuracy (\d+) %/);
        assert.ok(acc > 60, `accuracy ${acc} % on 100 test images`);
      } finally {
        await browser.close();
        await server.close();
      }
    },
  );
});
