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
 * median step after warm-up. The whole set is measured `--rounds` times, engines alternating
 * which goes first, and a figure is the median over rounds. A ratio is computed within each
 * round (measurements minutes apart, under the same load) and the median over rounds is what
 * is compared with the target; the range over rounds is printed beside it. On a shared virtual
 * machine a reference's speed can move by 1.5x between runs minutes apart, which a single
 * round cannot tell from a difference between engines.
 *
 * Options: --json (one JSON object), --engines libtorch,wasm,pytorch, --archs resnet18,vgg16,
 * --modes stc,ann, --phases train,infer, --batch 32, --steps 10, --warmup 3, --rounds 3,
 * --threads N (default: all cores), --python /usr/bin/python3, --out FILE (also write the JSON
 * object there), --stat median|min (the step time each process reports).
 * `npm run -s bench -- --json` keeps npm's script banner off stdout, leaving only the object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choiceArg, intArg, listArg, scriptArgs } from '../scripts/script-cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = `Usage: npm run bench [-- options]   (or: node bench/bench.js [options] after npm run build)

Training steps and inference of ResNet18/VGG16 (batch 32, 32x32x3) in stc and ann mode, on
stcsnn's backends and PyTorch, each measurement in its own process; prints figures and the
ratios the native backend targets (see bench/README.md).

Options:
  --engines LIST    libtorch, wasm, pytorch (default: libtorch,pytorch)
  --archs LIST      resnet18, vgg16, vgg11 (default: resnet18,vgg16)
  --modes LIST      stc, ann (default: stc,ann)
  --phases LIST     train, infer (default: train,infer)
  --batch N         batch size (default 32)
  --steps N         measured steps per process (default 10)
  --warmup N        warm-up steps (default 3)
  --rounds N        rounds, engines alternating which goes first (default 3)
  --threads N       threads per engine (default: all cores)
  --python PATH     Python with torch (default /usr/bin/python3)
  --stat median|min the step time each process reports (default median)
  --out FILE        also write the JSON object, with every round's figures, to FILE
  --json            one JSON object on stdout (progress goes to stderr)
  --debug           stack traces on errors
  -h, --help        this text`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    json: { type: 'boolean', default: false },
    engines: { type: 'string' },
    archs: { type: 'string', default: 'resnet18,vgg16' },
    modes: { type: 'string', default: 'stc,ann' },
    phases: { type: 'string', default: 'train,infer' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string' },
    stat: { type: 'string', default: 'median' },
  },
});
intArg('batch', a.batch, 1);
intArg('steps', a.steps, 1);
intArg('warmup', a.warmup, 0);
intArg('rounds', a.rounds, 1);
intArg('threads', a.threads, 1);
choiceArg('stat', a.stat, ['median', 'min']);
listArg('archs', a.archs, ['resnet18', 'vgg16', 'vgg11']);
listArg('modes', a.modes, ['stc', 'ann']);
listArg('phases', a.phases, ['train', 'infer']);
if (a.engines !== undefined) listArg('engines', a.engines, ['libtorch', 'wasm', 'pytorch']);
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
  rounds: Number(a.rounds),
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

const median = (xs) => {
  const v = [...xs].sort((p, q) => p - q);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const key = (engine, arch, mode, phase) => `${engine}/${arch}/${mode}/${phase}`;
/** @type {Map<string, any[]>} every round's measurement per configuration */
const byConfig = new Map();
/** @type {Map<string, any>[]} per round: configuration -> measurement */
const rounds = [];
for (let round = 0; round < machine.rounds; round++) {
  const seen = new Map();
  rounds.push(seen);
  // alternate which engine goes first, so that a drift in the machine's speed favours neither
  const order = round % 2 === 0 ? engines : [...engines].reverse();
  for (const arch of list(a.archs)) {
    for (const engine of order) {
      for (const mode of list(a.modes)) {
        for (const phase of list(a.phases)) {
          const r = measure(engine, arch, mode, phase);
          if (!r) continue;
          const k = key(r.engine, arch, mode, phase);
          seen.set(k, r);
          byConfig.set(k, [...(byConfig.get(k) ?? []), r]);
          log(
            `  round ${round + 1}/${machine.rounds}  ${r.engine.padEnd(16)} ${arch.padEnd(9)} ${mode} ${phase.padEnd(5)} ${String(r.ms_per_step).padStart(9)} ms/step ${String(r.images_per_second).padStart(8)} img/s  peak RSS ${r.peak_rss_mb} MB`,
          );
        }
      }
    }
  }
}

// one figure per configuration: the median over rounds (the rounds' figures are kept in the JSON)
const results = [...byConfig.values()].map((rs) => {
  const ms = Number(median(rs.map((r) => r.ms_per_step)).toFixed(2));
  return {
    ...rs[0],
    ms_per_step: ms,
    images_per_second: Number(((rs[0].batch * 1000) / ms).toFixed(1)),
    peak_rss_mb: Number(median(rs.map((r) => r.peak_rss_mb)).toFixed(1)),
    rounds_ms_per_step: rs.map((r) => r.ms_per_step),
    rounds_peak_rss_mb: rs.map((r) => r.peak_rss_mb),
  };
});
if (machine.rounds > 1) {
  log(`median over ${machine.rounds} rounds:`);
  for (const r of results) {
    log(
      `  ${r.engine.padEnd(16)} ${r.arch.padEnd(9)} ${r.mode} ${r.phase.padEnd(5)} ${String(r.ms_per_step).padStart(9)} ms/step ${String(r.images_per_second).padStart(8)} img/s  peak RSS ${r.peak_rss_mb} MB`,
    );
  }
}

const native = engines.includes('libtorch') ? 'stcsnn-libtorch' : 'stcsnn-wasm';
/** The targets: [name, numerator, denominator, value of a pair, target text, test]. */
const targets = [
  [
    'stc train ms / pytorch ann train ms',
    [native, 'stc', 'train'],
    ['pytorch', 'ann', 'train'],
    (n, d) => n.ms_per_step / d.ms_per_step,
    '<= 1.05',
    (v) => v <= 1.05,
  ],
  [
    'stc train ms / pytorch stc train ms',
    [native, 'stc', 'train'],
    ['pytorch', 'stc', 'train'],
    (n, d) => n.ms_per_step / d.ms_per_step,
    '< 1',
    (v) => v < 1,
  ],
  [
    'stc infer img/s / pytorch ann infer img/s',
    [native, 'stc', 'infer'],
    ['pytorch', 'ann', 'infer'],
    (n, d) => n.images_per_second / d.images_per_second,
    '>= 0.9',
    (v) => v >= 0.9,
  ],
  [
    'stc train peak RSS / pytorch ann train peak RSS',
    [native, 'stc', 'train'],
    ['pytorch', 'ann', 'train'],
    (n, d) => n.peak_rss_mb / d.peak_rss_mb,
    '<= 1',
    (v) => v <= 1,
  ],
];
const ratios = [];
for (const arch of list(a.archs)) {
  for (const [name, [ne, nm, np], [de, dm, dp], value, target, ok] of targets) {
    const perRound = rounds
      .map((seen) => [seen.get(key(ne, arch, nm, np)), seen.get(key(de, arch, dm, dp))])
      .filter(([n, d]) => n && d)
      .map(([n, d]) => value(n, d));
    if (perRound.length === 0) continue;
    const v = median(perRound);
    ratios.push({
      arch,
      name,
      value: Number(v.toFixed(3)),
      min: Number(Math.min(...perRound).toFixed(3)),
      max: Number(Math.max(...perRound).toFixed(3)),
      rounds: perRound.length,
      target,
      ok: ok(v),
    });
  }
}
if (ratios.length) {
  log(`ratios (${native} vs pytorch, within each round; median over rounds, [min, max]):`);
  for (const r of ratios)
    log(
      `  ${r.arch.padEnd(9)} ${r.name.padEnd(48)} ${String(r.value).padStart(7)}  [${r.min}, ${r.max}]  target ${r.target}  ${r.ok ? 'met' : 'NOT met'}`,
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
  const tmp = `${a.out}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ machine, results, ratios }, null, 2) + '\n');
  renameSync(tmp, a.out);
}
