#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: training steps and inference of ResNet18 and VGG16 at batch 32
 * on 32x32x3 inputs, in `stc` (fused) and `ann` mode, on stcsnn's libtorch backend (and wasm
 * when asked) and, where `/usr/bin/python3` has torch, the same networks in PyTorch, all in one
 * run; prints figures and the ratios the native backend targets:
 *
 * - STC training step <= 1.05 x PyTorch's ANN training step of the same network;
 * - STC training step faster than PyTorch's STC (T elementwise passes) training step;
 * - STC inference >= 0.9 x PyTorch ANN images/s;
 * - peak RSS of STC training <= PyTorch ANN training's.
 *
 * Every measurement runs in its own process (peak RSS is per configuration) and reports the
 * median step after warm-up. Timings from a loaded machine are not comparable across runs: the
 * ratios (same run, same load) are what to read; the load average is printed with them.
 *
 * Options: --json (one JSON object), --engines libtorch,wasm,pytorch, --archs resnet18,vgg16,
 * --modes stc,ann, --phases train,infer, --batch 32, --steps 10, --warmup 3, --threads N
 * (default: all cores), --python /usr/bin/python3, --out FILE (also write the JSON object there).
 * --stat median|min (the step time reported; `min` is the steadier estimate on a shared machine).
 * `npm run -s bench -- --json` keeps npm's script banner off stdout, leaving only the object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    engines: { type: 'string' },
    archs: { type: 'string', default: 'resnet18,vgg16' },
    modes: { type: 'string', default: 'stc,ann' },
    phases: { type: 'string', default: 'train,infer' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string' },
    stat: { type: 'string', default: 'median' },
  },
});
const list = (s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const log = (line) => {
  if (!a.json) process.stdout.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
};

function libtorchOk() {
  const probe =
    "import('stcsnn-libtorch').then((m) => { const r = m.libtorchAvailability(); process.stdout.write(r.ok ? 'ok' : r.reason); })";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    encoding: 'utf8',
    cwd: here,
  });
  return r.stdout === 'ok' ? undefined : (r.stdout || r.stderr).split('\n')[0];
}

function torchVersion() {
  if (!existsSync(a.python)) return undefined;
  const r = spawnSync(a.python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const torch = torchVersion();
const ltReason = libtorchOk();
let engines = a.engines ? list(a.engines) : ['libtorch', 'pytorch'];
if (engines.includes('libtorch') && ltReason) {
  log(`stcsnn-libtorch unavailable (${ltReason}); measuring wasm instead`);
  engines = engines.map((e) => (e === 'libtorch' ? 'wasm' : e));
}
if (engines.includes('pytorch') && !torch) {
  log(`no torch for ${a.python}: PyTorch not measured`);
  engines = engines.filter((e) => e !== 'pytorch');
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memory_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
  threads: Number(a.threads),
  node: process.version,
  torch: torch ?? null,
  loadavg_at_start: loadavg().map((v) => Number(v.toFixed(2))),
  date: new Date().toISOString(),
  stat: a.stat,
};
log(
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.threads} threads, load ${machine.loadavg_at_start.join(' ')}`,
);

// PyTorch runs with the same OpenMP idle policy the libtorch backend sets for itself
// (packages/libtorch/lib/native.js), so that both see the same threading behaviour.
const pyEnv = { ...process.env };
if (pyEnv.OMP_WAIT_POLICY === undefined && pyEnv.GOMP_SPINCOUNT === undefined) pyEnv.GOMP_SPINCOUNT = '2000';
machine.gomp_spincount = pyEnv.GOMP_SPINCOUNT ?? null;
machine.omp_wait_policy = pyEnv.OMP_WAIT_POLICY ?? null;

function measure(engine, arch, mode, phase) {
  const common = [
    '--arch',
    arch,
    '--mode',
    mode,
    '--phase',
    phase,
    '--batch',
    a.batch,
    '--steps',
    a.steps,
    '--warmup',
    a.warmup,
    '--threads',
    a.threads,
    '--stat',
    a.stat,
  ];
  const r =
    engine === 'pytorch'
      ? spawnSync(a.python, [join(here, 'pytorch_bench.py'), ...common], { encoding: 'utf8', env: pyEnv })
      : spawnSync(process.execPath, [join(here, 'run-stcsnn.js'), '--backend', engine, ...common], {
          encoding: 'utf8',
          cwd: join(here, '..'),
        });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    const err =
      (r.stderr || r.stdout)
        .trim()
        .split('\n')
        .filter((l) => /error/i.test(l))[0] ?? `exit ${r.status}`;
    log(`  ${engine} ${arch} ${mode} ${phase}: failed (${err})`);
    return undefined;
  }
}

const results = [];
for (const arch of list(a.archs)) {
  for (const engine of engines) {
    for (const mode of list(a.modes)) {
      for (const phase of list(a.phases)) {
        const r = measure(engine, arch, mode, phase);
        if (!r) continue;
        results.push(r);
        log(
          `  ${r.engine.padEnd(16)} ${arch.padEnd(9)} ${mode} ${phase.padEnd(5)} ${String(r.ms_per_step).padStart(9)} ms/step ${String(r.images_per_second).padStart(8)} img/s  peak RSS ${r.peak_rss_mb} MB`,
        );
      }
    }
  }
}

const find = (engine, arch, mode, phase) =>
  results.find((r) => r.engine === engine && r.arch === arch && r.mode === mode && r.phase === phase);
const ratios = [];
const native = engines.includes('libtorch') ? 'stcsnn-libtorch' : 'stcsnn-wasm';
for (const arch of list(a.archs)) {
  const stcTrain = find(native, arch, 'stc', 'train');
  const stcInfer = find(native, arch, 'stc', 'infer');
  const ptAnnTrain = find('pytorch', arch, 'ann', 'train');
  const ptStcTrain = find('pytorch', arch, 'stc', 'train');
  const ptAnnInfer = find('pytorch', arch, 'ann', 'infer');
  const add = (name, value, target, ok) =>
    value !== undefined &&
    ratios.push({ arch, name, value: Number(value.toFixed(3)), target, ok: ok(value) });
  if (stcTrain && ptAnnTrain)
    add(
      'stc train ms / pytorch ann train ms',
      stcTrain.ms_per_step / ptAnnTrain.ms_per_step,
      '<= 1.05',
      (v) => v <= 1.05,
    );
  if (stcTrain && ptStcTrain)
    add(
      'stc train ms / pytorch stc train ms',
      stcTrain.ms_per_step / ptStcTrain.ms_per_step,
      '< 1',
      (v) => v < 1,
    );
  if (stcInfer && ptAnnInfer)
    add(
      'stc infer img/s / pytorch ann infer img/s',
      stcInfer.images_per_second / ptAnnInfer.images_per_second,
      '>= 0.9',
      (v) => v >= 0.9,
    );
  if (stcTrain && ptAnnTrain)
    add(
      'stc train peak RSS / pytorch ann train peak RSS',
      stcTrain.peak_rss_mb / ptAnnTrain.peak_rss_mb,
      '<= 1',
      (v) => v <= 1,
    );
}
if (ratios.length) {
  log(`ratios (${native} vs pytorch, same run):`);
  for (const r of ratios)
    log(
      `  ${r.arch.padEnd(9)} ${r.name.padEnd(48)} ${String(r.value).padStart(7)}  target ${r.target}  ${r.ok ? 'met' : 'NOT met'}`,
    );
}
machine.loadavg_at_end = loadavg().map((v) => Number(v.toFixed(2)));
if (a.json) {
  const strip = ({ engine, arch, mode, phase, batch, ms_per_step, images_per_second, peak_rss_mb }) => ({
    engine,
    arch,
    mode,
    phase,
    batch,
    ms_per_step,
    images_per_second,
    peak_rss_mb,
  });
  process.stdout.write(JSON.stringify({ machine, results: results.map(strip), ratios }) + '\n');
}
if (a.out) {
  writeFileSync(a.out, JSON.stringify({ machine, results, ratios }, null, 2) + '\n');
}
