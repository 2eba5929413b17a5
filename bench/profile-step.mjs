#!/usr/bin/env node
// Where a training step's time goes: stcsnn's step (bench/run-stcsnn.js --profile: the time in
// each kernel, the rest is TensorFlow.js's tape, JavaScript and N-API) beside PyTorch's
// (bench/pytorch_bench.py --profile: torch.profiler's self time per ATen op, the rest is Python
// and autograd), both grouped into the same categories, one process each, on the same machine in
// the same run. Profiling slows both steps a little; the step times measured without it are
// `npm run bench`'s.
//
//   node bench/profile-step.mjs [--arch vgg16|resnet18] [--mode stc|ann] [--precision fp32|bf16]
//       [--threads N] [--steps 5] [--by-shape] [--out FILE.json]
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
  --by-shape                    also the convolution calls layer by layer (by input shapes)
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
    'by-shape': { type: 'boolean', default: false },
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
  a['by-shape'] ? '--profile-shapes' : '--profile',
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
if (a['by-shape']) lines.push('', ...layerTable());
console.log(lines.join('\n'));
/**
 * A layer's key from its input [N, H, W, Cin] and filter [kh, kw, Cin, Cout] (stcsnn's NHWC/HWIO
 * shapes; PyTorch's NCHW/OIHW ones are mapped to them).
 */
function layerKey(x, w) {
  return `${x.join('x')} -> ${w[3]}, ${w[0]}x${w[1]}`;
}

/** ms per step of the convolution calls, forward and backward, layer shape by layer shape. */
function layerTable() {
  const rows = new Map();
  const add = (key, col, ms) => {
    const r = rows.get(key) ?? { calls: 0, ours_f: 0, torch_f: 0, ours_b: 0, torch_b: 0 };
    r[col] += ms;
    rows.set(key, r);
  };
  for (const r of ours.profile_by_shape ?? []) {
    const [i0, i1, i2] = r.inputs;
    if (r.kernel === 'StcConv2D' || r.kernel === 'Conv2D') {
      add(layerKey(i0, i1), 'ours_f', r.ms);
      rows.get(layerKey(i0, i1)).calls = r.calls;
    }
    if (r.kernel === 'StcConv2DBackward') add(layerKey(i1, i2), 'ours_b', r.ms);
  }
  // the first layer's backward is its filter gradient alone (inputs x, dy: no filter shape)
  for (const r of ours.profile_by_shape ?? []) {
    if (r.kernel !== 'Conv2DBackpropFilter') continue;
    const [x, dy] = r.inputs;
    const key = [...rows.keys()].find((k) => k.startsWith(`${x.join('x')} -> ${dy[3]}, `));
    if (key) add(key, 'ours_b', r.ms);
  }
  const nhwc = ([n, c, h, w]) => [n, h, w, c];
  const hwio = ([o, i, kh, kw]) => [kh, kw, i, o];
  for (const r of torch.profile_by_shape ?? []) {
    if (r.op === 'aten::mkldnn_convolution') add(layerKey(nhwc(r.inputs[0]), hwio(r.inputs[1])), 'torch_f', r.ms);
    if (r.op === 'aten::convolution_backward') {
      add(layerKey(nhwc(r.inputs[1]), hwio(r.inputs[2])), 'torch_b', r.ms);
    }
  }
  const out = [
    'Convolution calls by layer shape, ms per step (stcsnn: StcConv2D / Conv2D and StcConv2DBackward, the STEB or',
    "ReLU inside; PyTorch: mkldnn_convolution and convolution_backward, its activation ops not included):",
    '',
    '| input NHWC -> Cout, kernel | calls | stcsnn forward | PyTorch forward | stcsnn backward | PyTorch backward |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [k, r] of [...rows.entries()].sort((p, q) => q[1].ours_f + q[1].ours_b - p[1].ours_f - p[1].ours_b)) {
    out.push(`| ${k} | ${r.calls} | ${f(r.ours_f)} | ${f(r.torch_f)} | ${f(r.ours_b)} | ${f(r.torch_b)} |`);
  }
  return out;
}

if (a.out) {
  const tmp = `${a.out}.tmp-${process.pid}`;
  writeFileSync(
    tmp,
    `${JSON.stringify({ title, cpu, categories: g, stcsnn: ours, pytorch: torch }, null, 2)}\n`,
  );
  renameSync(tmp, a.out);
}
