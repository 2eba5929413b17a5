#!/usr/bin/env node
// Where a training step's time goes: stcsnn's step (bench/run-stcsnn.js --profile: the time in
// each kernel, the rest is TensorFlow.js's tape, JavaScript and N-API) beside PyTorch's
// (bench/pytorch_bench.py --profile: torch.profiler's self time per ATen op, the rest is Python
// and autograd), both grouped into the same categories, one process each, on the same machine in
// the same run. Profiling slows both steps a little; the step times measured without it are
// `npm run bench`'s.
//
//   node bench/profile-step.mjs [--arch vgg16|resnet18] [--mode stc|ann] [--precision fp32|bf16]
//       [--threads N] [--steps 5] [--out FILE.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync, renameSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choiceArg, intArg, scriptArgs } from '../scripts/script-cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = `Usage: node bench/profile-step.mjs [options]   (after npm run build)

Where a training step's time goes, stcsnn beside PyTorch (its ANN), by category.

Options:
  --arch vgg16|resnet18|vgg11   (default vgg16)
  --mode stc|ann                stcsnn's network (default stc; PyTorch's is always its ANN)
  --precision fp32|bf16         (default fp32; PyTorch: torch.autocast bfloat16)
  --threads N                   (default 2)
  --steps N                     profiled steps after 3 warm-up steps (default 5)
  --python PATH                 (default /usr/bin/python3)
  --out FILE                    also write the JSON (both profiles, the categories)`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    arch: { type: 'string', default: 'vgg16' },
    mode: { type: 'string', default: 'stc' },
    precision: { type: 'string', default: 'fp32' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '5' },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string' },
  },
});
choiceArg('arch', a.arch, ['vgg16', 'resnet18', 'vgg11']);
choiceArg('mode', a.mode, ['stc', 'ann']);
choiceArg('precision', a.precision, ['fp32', 'bf16']);
intArg('threads', a.threads, 1);
intArg('steps', a.steps, 1);

/**
 * Categories, in table order: [name, stcsnn kernel test, PyTorch op test]. stcsnn's STCB kernels
 * (`StcConv2D`, `StcConv2DBackward`) run the STEB (or, in the ANN, the ReLU) inside the
 * convolution's call, so the first category holds PyTorch's activation ops too: the two columns
 * then cover the same work.
 */
const CATEGORIES = [
  [
    'convolutions with their activation (stcsnn: fused STEB or ReLU; PyTorch: conv, relu, its gradient)',
    (k) => /^(Stc)?Conv2D/.test(k),
    (o) => /convolution|relu|threshold|clamp/.test(o),
  ],
  ['batch norm and its gradient', (k) => /BatchNorm/.test(k), (o) => /batch_norm/.test(o)],
  [
    'activation outside the convolutions (STEB or ReLU kernels)',
    (k) => /^StcQuantize|^Relu$|^Step$/.test(k),
    () => false,
  ],
  ['pooling', (k) => /Pool/.test(k), (o) => /pool/.test(o)],
  [
    'SGD update and gradient check',
    (k) => k === 'StcSgdStep' || k === 'StcSquaredNorm',
    (o) => /^Optimizer|^aten::(add_|mul_|addcmul_|lerp_)$/.test(o),
  ],
  ['casts and copies', (k) => k === 'Cast', (o) => /copy_|_to_copy/.test(o)],
];
const OTHER = 'other kernels / ops';
const OUTSIDE = 'outside kernels (stcsnn: tape, JavaScript, N-API; PyTorch: Python, autograd)';

function measure(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(
      `${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`,
    );
  }
}

const common = [
  '--arch',
  a.arch,
  '--threads',
  a.threads,
  '--steps',
  a.steps,
  '--warmup',
  '3',
  '--precision',
  a.precision,
  '--profile',
];
const ours = measure(
  process.execPath,
  [join(here, 'run-stcsnn.js'), '--mode', a.mode, ...common],
  join(here, '..'),
);
const torch = measure(a.python, [join(here, 'pytorch_bench.py'), '--mode', 'ann', ...common], here);

function grouped(rows, key, pick) {
  const out = Object.fromEntries([...CATEGORIES.map(([n]) => [n, 0]), [OTHER, 0]]);
  for (const r of rows) {
    const c = CATEGORIES.find((cat) => pick(cat)(r[key]));
    out[c ? c[0] : OTHER] += r.ms;
  }
  return out;
}
const g = {
  stcsnn: { ...grouped(ours.profile, 'kernel', (c) => c[1]), [OUTSIDE]: ours.other_ms },
  pytorch: { ...grouped(torch.profile, 'op', (c) => c[2]), [OUTSIDE]: torch.other_ms },
};
const cpu = cpus()[0]?.model ?? 'unknown';
const title = `${a.arch}, stcsnn ${a.mode} against PyTorch's ANN, ${a.precision}, batch 32, ${a.threads} threads, ${cpu}`;
const f = (v) => v.toFixed(1);
const lines = [
  `Training step, ms per step while profiled (${title}):`,
  '',
  '| | stcsnn | PyTorch |',
  '| --- | ---: | ---: |',
  ...Object.keys(g.stcsnn).map((k) => `| ${k} | ${f(g.stcsnn[k])} | ${f(g.pytorch[k])} |`),
  `| **step, mean of the profiled steps (the sum of the rows)** | ${f(ours.mean_ms_per_step)} | ${f(torch.mean_ms_per_step)} |`,
  `| step, median of the profiled steps | ${f(ours.ms_per_step)} | ${f(torch.ms_per_step)} |`,
];
console.log(lines.join('\n'));
if (a.out) {
  const tmp = `${a.out}.tmp-${process.pid}`;
  writeFileSync(
    tmp,
    `${JSON.stringify({ title, cpu, categories: g, stcsnn: ours, pytorch: torch }, null, 2)}\n`,
  );
  renameSync(tmp, a.out);
}
