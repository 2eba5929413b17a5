#!/usr/bin/env node
/* global process, URL, console, window, performance */
/**
 * `npm run bench:browser [-- --json] [-- --batches N]`: in-page inference and training
 * images/s of VGG11 (width 0.25, stc, fused, 28x28x1, batch 32) per backend in headless
 * chromium (/usr/bin/chromium, or STCSNN_CHROMIUM), beside the same network on Node's wasm
 * backend on this machine. Needs `npm run build` and `npm run demo:build` first.
 *
 * Each backend runs in a fresh page (`?backend=NAME`); a backend the browser does not have
 * (WebGPU and WebGL with --disable-gpu, typically) is reported as unavailable. The page's
 * `window.stcsnnBench(batches)` (web/src/bench.ts) times `batches` batches after one warm-up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const bi = args.indexOf('--batches');
const batches = bi >= 0 ? Number(args[bi + 1]) : 4;
const gpu = args.includes('--gpu');

async function nodeWasm() {
  const s = await import(path.join(ROOT, 'dist', 'index.js'));
  const tf = await import('@tensorflow/tfjs-core');
  await s.initBackend('wasm');
  const { trainStep } = s;
  const net = s.buildNetwork(
    {
      arch: 'vgg11',
      mode: 'stc',
      width: 0.25,
      inputShape: [28, 28, 1],
      classes: 10,
      stc: s.stcConfig(),
      path: 'fused',
    },
    1,
  );
  const sgd = new s.Sgd(net.trainableVariables(), { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const x = tf.randomNormal([32, 28, 28, 1]);
  const y = tf.tensor1d(
    Array.from({ length: 32 }, (_, i) => i % 10),
    'int32',
  );
  const timed = async (f) => {
    await f();
    const t0 = performance.now();
    for (let i = 0; i < batches; i++) await f();
    return (batches * 32) / ((performance.now() - t0) / 1000);
  };
  const infer = await timed(async () => {
    const o = net.forward(x, { training: false });
    await o.data();
    o.dispose();
  });
  const train = await timed(async () => void trainStep(net, sgd, x, y, 0.01));
  return { backend: 'node wasm', inferImagesPerSecond: infer, trainImagesPerSecond: train };
}

const server = await preview({
  configFile: path.join(ROOT, 'web', 'vite.config.ts'),
  preview: { port: 0, host: '127.0.0.1' },
  logLevel: 'silent',
});
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'stcsnn-bench-'));
const flags = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
if (!gpu) flags.push('--disable-gpu');
else flags.push('--enable-unsafe-webgpu', '--use-angle=vulkan', '--enable-features=Vulkan');
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.STCSNN_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: flags,
});
const results = [];
try {
  for (const backend of ['webgpu', 'webgl', 'wasm', 'cpu']) {
    const page = await context.newPage();
    await page.goto(`${server.resolvedUrls.local[0]}?backend=${backend}`);
    await page.waitForSelector('body[data-ready="true"], #status:has-text("failed")', { timeout: 120_000 });
    if ((await page.getAttribute('body', 'data-ready')) !== 'true') {
      results.push({
        backend: `browser ${backend}`,
        unavailable: (await page.textContent('#status'))?.trim(),
      });
    } else {
      const r = await page.evaluate((n) => window.stcsnnBench(n), batches);
      results.push({ ...r, backend: `browser ${r.backend}` });
    }
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
results.push(await nodeWasm());
const meta = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  loadavg: os.loadavg().map((l) => +l.toFixed(2)),
  batches,
  batch: 32,
};
if (json) console.log(JSON.stringify({ ...meta, results }, null, 2));
else {
  console.log(
    `VGG11 w0.25 stc, batch 32, ${batches} timed batches; ${meta.cpus} CPUs (${meta.cpu}), load ${meta.loadavg.join(' ')}`,
  );
  for (const r of results) {
    console.log(
      r.unavailable
        ? `${r.backend.padEnd(16)} unavailable (${r.unavailable})`
        : `${r.backend.padEnd(16)} inference ${r.inferImagesPerSecond.toFixed(1).padStart(8)} img/s   training ${r.trainImagesPerSecond.toFixed(1).padStart(8)} img/s`,
    );
  }
}
