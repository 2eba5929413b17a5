/* global process, Buffer, URL, document, Event */
/**
 * End-to-end test of the playground in Debian's chromium, driven by playwright-core
 * (`npm run test:e2e`, after `npm run build` and `npm run demo:build`). It serves web/dist with
 * `vite preview` and checks, on the wasm backend:
 *
 * - the page loads with no console errors;
 * - moving the T slider (with the keyboard) changes the raster's column count;
 * - the prediction for a test image has the class and, within 1e-4, the probabilities that
 *   `stcsnn predict --backend wasm` prints for the same model and image (written as a PNG);
 * - a file that is not a model gives a readable message and keeps the previous model;
 * - a one-epoch in-page training run on 512 images finishes with a decreasing loss and shows the
 *   runaway monitor's figures per STCB layer;
 * - screenshots at desktop and 375 px width are written to web/test-artifacts/.
 *
 * STCSNN_CHROMIUM overrides the browser (default /usr/bin/chromium).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'web', 'test-artifacts');
const MODEL = path.join(ROOT, 'web', 'model', 'fashion-mnist-vgg11-w025.safetensors');
const SAMPLE = 7;

/** @type {import('vite').PreviewServer} */ let server;
/** @type {import('playwright-core').BrowserContext} */ let context;
/** @type {import('playwright-core').Page} */ let page;
/** @type {string[]} */ const consoleErrors = [];
let profile = '';

before(async () => {
  assert.ok(
    fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html')),
    'web/dist is missing: run npm run demo:build',
  );
  server = await preview({
    configFile: path.join(ROOT, 'web', 'vite.config.ts'),
    preview: { port: 0, host: '127.0.0.1' },
    logLevel: 'silent',
  });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.STCSNN_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const url = server.resolvedUrls?.local[0];
  assert.ok(url, 'vite preview has no URL');
  await page.goto(`${url}?backend=wasm`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('the page runs on the requested wasm backend', async () => {
  assert.equal(await page.getAttribute('body', 'data-backend'), 'wasm');
});

test('moving the T slider changes the number of raster columns', async () => {
  const columns = () => page.getAttribute('#stc-raster', 'data-columns');
  assert.equal(await columns(), '8');
  await page.focus('#T');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await columns(), '12');
  await page.keyboard.press('Home');
  assert.equal(await columns(), '1');
  await page.$eval('#T', (e) => {
    e.value = '8';
    e.dispatchEvent(new Event('input'));
  });
  assert.equal(await columns(), '8');
});

test('a test image gets the class and probabilities of `stcsnn predict` in Node', async () => {
  await page.selectOption('#sample', String(SAMPLE));
  await page.waitForFunction(
    (s) => document.querySelector('#sample')?.value === s && document.querySelector('#top')?.dataset.probs,
    String(SAMPLE),
  );
  await page.waitForTimeout(0);
  const probs = JSON.parse((await page.getAttribute('#top', 'data-probs')) ?? '[]');
  // the same image as a grey PNG, through the CLI
  const images = gunzipSync(
    fs.readFileSync(path.join(ROOT, 'assets', 'fashion-mnist-mini', 't10k-images-idx3-ubyte.gz')),
  );
  const png = new PNG({
    width: 28,
    height: 28,
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
    inputHasAlpha: false,
  });
  png.data = Buffer.from(images.subarray(16 + SAMPLE * 784, 16 + (SAMPLE + 1) * 784));
  const file = path.join(ARTIFACTS, `test-image-${SAMPLE}.png`);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
  const out = execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'dist', 'app', 'cli', 'main.js'),
      'predict',
      '--model',
      MODEL,
      '--input',
      file,
      '--top',
      '10',
      '--json',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  const top = JSON.parse(out).predictions[0].top;
  const best = probs.indexOf(Math.max(...probs));
  assert.equal(best, top[0].class);
  for (const t of top)
    assert.ok(
      Math.abs(probs[t.class] - t.probability) <= 1e-4,
      `class ${t.class}: page ${probs[t.class]}, node ${t.probability}`,
    );
  assert.equal(await page.getAttribute('#top li:first-child', 'data-class'), String(best));
  assert.match((await page.textContent('#energy')) ?? '', /SNN .* µJ against .* µJ for the ANN twin/);
  assert.ok(Number(await page.getAttribute('#layer-raster', 'data-columns')) >= 1);
});

test('a file that is not a model: a readable message, the previous model stays', async () => {
  const before = await page.textContent('#model-info');
  await page.setInputFiles('#model-file', {
    name: 'notes.safetensors',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('this is not a safetensors file at all'),
  });
  await page.waitForFunction(() => (document.querySelector('#model-error')?.textContent ?? '') !== '');
  assert.match(
    (await page.textContent('#model-error')) ?? '',
    /^Not loaded: notes\.safetensors.*previous model stays loaded/,
  );
  assert.equal(await page.textContent('#model-info'), before);
  await page.selectOption('#sample', '0');
  await page.waitForFunction(() => document.querySelector('#top li') !== null);
});

test('one in-page epoch on 512 images finishes and its loss decreases', { timeout: 600_000 }, async () => {
  await page.selectOption('#train-n', '512');
  await page.click('#train-start');
  await page.waitForSelector('#train[data-state="done"], #train[data-state="failed"]', { timeout: 590_000 });
  assert.equal(
    await page.getAttribute('#train', 'data-state'),
    'done',
    (await page.textContent('#train-status')) ?? '',
  );
  const losses = JSON.parse((await page.getAttribute('#train', 'data-losses')) ?? '[]');
  assert.equal(losses.length, 16);
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(
    mean(losses.slice(-4)) < mean(losses.slice(0, 4)),
    `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`,
  );
  assert.equal(await page.getAttribute('#train-progress', 'value'), '1');
  // the runaway monitor's table: one row per STCB layer of VGG11 (7), and the rule's verdict
  assert.equal(await page.getAttribute('#train-monitor', 'data-layers'), '7');
  assert.match((await page.textContent('#train-monitor-verdict')) ?? '', /^(No layer runs away|Runaway: )/);
});

test('screenshots at desktop and phone width; nothing overflows at 375 px', async () => {
  await page.screenshot({ path: path.join(ARTIFACTS, 'desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(ARTIFACTS, 'phone-375.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `the page is ${overflow} px wide at 375 px`);
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
