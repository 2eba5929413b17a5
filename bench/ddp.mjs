#!/usr/bin/env node
// Data-parallel throughput on this machine: `stcsnn train` as 1 process (all threads) against
// `stcsnn launch --nproc N` (threads = threads / N per rank), same global batch and data, on the
// libtorch backend with c10d; prints images/s of each, the speed-up, and the gradient all-reduce
// time per step (mean over ranks' rank 0 log: allreduce_seconds / steps).
//
//   node bench/ddp.mjs [--nproc 2] [--threads 2] [--batch 32] [--limit-train 640] [--epochs 2]
//                      [--width 0.25] [--T 8] [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intArg, numberArg, scriptArgs } from '../scripts/script-cli.mjs';

const USAGE = `Usage: node bench/ddp.mjs [options]   (after npm run build; needs libtorch with c10d)

Trains VGG11 on the embedded Fashion-MNIST subset as one process and as N ranks (stcsnn launch),
same global batch, and prints images/s (last epoch, warm), the speed-up and the all-reduce time
per step.

Options:
  --nproc N          ranks of the data-parallel run (default 2)
  --threads T        threads in all (the single process gets T, each rank T / N; default 2)
  --batch B          global batch (each rank B / N; default 32)
  --limit-train N    training samples (default 640)
  --epochs E         epochs; the last one is reported (default 2)
  --width W          VGG11 width multiplier (default 0.25)
  --T T              spike-train length (default 8)
  --json             one JSON object on stdout
  --debug, -h/--help`;
const { values: opt } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    nproc: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '32' },
    'limit-train': { type: 'string', default: '640' },
    epochs: { type: 'string', default: '2' },
    width: { type: 'string', default: '0.25' },
    T: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const nproc = intArg('nproc', opt.nproc, 2);
const threads = intArg('threads', opt.threads, 1);
const batch = intArg('batch', opt.batch, nproc);
if (batch % nproc !== 0) throw new Error(`--batch ${batch} must be a multiple of --nproc ${nproc}`);
const limitTrain = intArg('limit-train', opt['limit-train'], batch);
const epochs = intArg('epochs', opt.epochs, 1);
numberArg('width', opt.width);
numberArg('T', opt.T);
const cli = new URL('../dist/app/cli/main.js', import.meta.url).pathname;
if (!existsSync(cli)) throw new Error('dist/app/cli/main.js is missing: run `npm run build` first');
const common = [
  ...['--backend', 'libtorch', '--arch', 'vgg11', '--width', opt.width, '--T', opt.T],
  ...['--epochs', String(epochs), '--limit-train', String(limitTrain), '--limit-test', '100', '--json'],
];
const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-ddp-bench-'));

function run(args, out) {
  const r = spawnSync(process.execPath, [cli, ...args, '--out', out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`stcsnn ${args.slice(0, 3).join(' ')} ... exited ${r.status}`);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return log[log.length - 1];
}

try {
  const one = run(
    ['train', ...common, '--batch-size', String(batch), '--threads', String(threads)],
    join(tmp, 'one'),
  );
  const many = run(
    [
      ...['launch', '--nproc', String(nproc), '--threads', String(Math.max(1, Math.floor(threads / nproc)))],
      ...['--', 'train', ...common, '--batch-size', String(batch / nproc)],
    ],
    join(tmp, 'many'),
  );
  const steps = Math.ceil(limitTrain / batch);
  const result = {
    machine: { cores: (await import('node:os')).availableParallelism() },
    global_batch: batch,
    one_process: { threads, images_per_second: one.images_per_second },
    data_parallel: {
      nproc,
      threads_per_rank: Math.max(1, Math.floor(threads / nproc)),
      images_per_second: many.images_per_second,
      allreduce_ms_per_step: ((many.allreduce_seconds ?? 0) * 1000) / steps,
      step_ms: (1000 * batch) / many.images_per_second,
    },
    speedup: many.images_per_second / one.images_per_second,
  };
  if (opt.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const d = result.data_parallel;
    console.log(
      `global batch ${batch}, VGG11 width ${opt.width}, T=${opt.T}, ${limitTrain} images/epoch, last of ${epochs} epochs`,
    );
    console.log(`1 process x ${threads} threads:  ${one.images_per_second.toFixed(1)} img/s`);
    console.log(
      `${nproc} processes x ${d.threads_per_rank} threads: ${d.images_per_second.toFixed(1)} img/s (x${result.speedup.toFixed(2)}); all-reduce ${d.allreduce_ms_per_step.toFixed(1)} ms of a ${d.step_ms.toFixed(0)} ms step`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
