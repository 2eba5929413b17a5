#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: training steps and inference of ResNet18 and VGG16 at batch 32
 * on 32x32x3 inputs, in `stc` (fused) and `ann` mode, on stcsnn's libtorch backend (and wasm
 * when asked) and, where `/usr/bin/python3` has torch, the same networks in PyTorch, all in one
 * run; prints figures and the ratios the native backend targets:
 *
 * - stcsnn's ANN training step <= 1.0 x PyTorch's ANN training step (fp32);
 * - the default STC training step <= 1.05 x stcsnn's ANN training step (fp32);
 * - STC training step <= 1.05 x PyTorch's ANN training step of the same network;
 * - with `--precision bf16` (bfloat16 convolutions; PyTorch: `torch.autocast` bf16): the default
 *   STC training step <= 1.0 x PyTorch's bf16 ANN step and <= 0.8 x PyTorch's fp32 ANN step;
 * - STC training step faster than PyTorch's STC (T elementwise passes) training step;
 * - STC inference >= 0.9 x PyTorch ANN images/s;
 * - peak RSS of STC training <= PyTorch ANN training's;
 * - learned thresholds (`layer`, `channel`) <= 1.05 x the fixed ones (`clipped`) per step.
 *
 * stcsnn's STC training is measured for each training method (`--variants`): `relu` (the
 * paper's ReLU mask, fixed thresholds), `clipped` (clipped mask, fixed thresholds), `layer` and
 * `channel` (clipped mask, thresholds learned per layer / per channel); the trainer's default
 * (`trainerStc({})`, src/app/config/config.ts) is always among them and is the one inference
 * is measured for. Each measurement is the trainer's own network and step
 * (bench/run-stcsnn.js).
 *
 * Every measurement runs in its own process (peak RSS is per configuration) and reports the
 * median step after warm-up. The whole set is measured `--rounds` times, engines (and the
 * variants within an engine) alternating which goes first; a figure is the median over rounds.
 * A ratio is computed within each round (measurements minutes apart, under the same load) and
 * the median over rounds is what is compared with the target; the range over rounds is printed
 * beside it, and a sign test over the rounds says whether the target is shown met or missed
 * (`signVerdict`: with n rounds of which k are within the target, shown met when
 * P(X >= k) <= 0.05 for X ~ Binomial(n, 1/2), shown missed when P(X <= k) <= 0.05, otherwise not
 * resolved: 3 rounds never resolve, 9 need 8 on one side). On a shared virtual machine a reference's speed can move by 1.5x between runs
 * minutes apart, which a single round cannot tell from a difference between engines.
 *
 * Each step's achieved arithmetic rate is printed beside it: GFLOP/s = 2 x MACs x images / s,
 * with MACs the forward pass's weight multiply-accumulates (`stcsnn energy`'s count, reported by
 * run-stcsnn.js) and a training step counted as 3 x the forward pass (the forward product and
 * the two gradient products; the first layer's input gradient, which is not computed, is
 * counted, so training rates are a little high), and its share of the peak of its precision:
 * the rate of a 2048 x 2048 x 2048 matrix product in PyTorch at the same threads, measured at
 * the start (the practical peak), with the nominal peak from /proc/cpuinfo beside it
 * (bench/peak.mjs says how it is computed).
 *
 * `--smoke` runs one step of every configuration on tiny networks (width 0.125, batch 2, one
 * round) and checks that each ran and that its figures are finite (exit code 1 otherwise): a
 * check that the benchmark works, for CI, not a timing.
 *
 * `npm run -s bench -- --json` keeps npm's script banner off stdout, leaving only the object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choiceArg, importBuilt, intArg, listArg, numberArg, scriptArgs } from '../scripts/script-cli.mjs';
import { gemmPeak, nominalPeak } from './peak.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = `Usage: npm run bench [-- options]   (or: node bench/bench.js [options] after npm run build)

Training steps and inference of ResNet18/VGG16 (batch 32, 32x32x3) in stc and ann mode, on
stcsnn's backends and PyTorch, each measurement in its own process; stcsnn's STC training for
each training method (the trainer's default among them); prints figures and the ratios the
native backend targets (see bench/README.md).

Options:
  --engines LIST    libtorch, wasm, pytorch (default: libtorch,pytorch)
  --archs LIST      resnet18, vgg16, vgg11 (default: resnet18,vgg16)
  --modes LIST      stc, ann (default: stc,ann)
  --variants LIST   stcsnn's STC training methods: relu (ReLU mask, fixed thresholds),
                    clipped (clipped mask, fixed), layer, channel (clipped, thresholds learned
                    per layer / channel) (default: all); the trainer's default is always
                    measured, and inference only for it
  --phases LIST     train, infer (default: train,infer)
  --precisions LIST fp32, bf16 (default: fp32,bf16); bf16 measures the default STC method and
                    the ANN (stcsnn: --precision bf16; PyTorch: torch.autocast bfloat16)
  --batch N         batch size (default 32)
  --width X         channel multiplier (default 1)
  --steps N         measured steps per process (default 10)
  --warmup N        warm-up steps (default 3)
  --rounds N        rounds, engines and variants alternating which goes first (default 3)
  --threads N       threads per engine (default: all cores)
  --python PATH     Python with torch (default /usr/bin/python3)
  --stat median|min the step time each process reports (default median)
  --out FILE        also write the JSON object, with every round's figures, to FILE
  --json            one JSON object on stdout (progress goes to stderr)
  --smoke           one step of every configuration on tiny networks (width 0.125, batch 2,
                    no warm-up, one round; --batch, --width, --steps, --warmup, --rounds are
                    ignored): checks that each runs and that its figures are finite (exit 1
                    otherwise), not how fast; PyTorch where its torch is there
  --debug           stack traces on errors
  -h, --help        this text`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    json: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    engines: { type: 'string' },
    archs: { type: 'string', default: 'resnet18,vgg16' },
    modes: { type: 'string', default: 'stc,ann' },
    variants: { type: 'string', default: 'relu,clipped,layer,channel' },
    phases: { type: 'string', default: 'train,infer' },
    precisions: { type: 'string', default: 'fp32,bf16' },
    batch: { type: 'string', default: '32' },
    width: { type: 'string', default: '1' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string' },
    stat: { type: 'string', default: 'median' },
  },
});
if (a.smoke) Object.assign(a, { batch: '2', width: '0.125', steps: '1', warmup: '0', rounds: '1' });
intArg('batch', a.batch, 1);
numberArg('width', a.width, 0);
intArg('steps', a.steps, 1);
intArg('warmup', a.warmup, 0);
intArg('rounds', a.rounds, 1);
intArg('threads', a.threads, 1);
choiceArg('stat', a.stat, ['median', 'min']);
listArg('archs', a.archs, ['resnet18', 'vgg16', 'vgg11']);
listArg('modes', a.modes, ['stc', 'ann']);
listArg('phases', a.phases, ['train', 'infer']);
listArg('precisions', a.precisions, ['fp32', 'bf16']);
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

/**
 * stcsnn's STC training methods: a name, the gradient mask and the threshold mode (the flags
 * `--gradient`, `--learn-theta` of `stcsnn train`).
 */
const VARIANTS = {
  relu: { gradient: 'relu', learnTheta: 'off' },
  clipped: { gradient: 'clipped', learnTheta: 'off' },
  layer: { gradient: 'clipped', learnTheta: 'layer' },
  channel: { gradient: 'clipped', learnTheta: 'channel' },
};
listArg('variants', a.variants, Object.keys(VARIANTS));
/** The variant of a mask and threshold mode. */
const variantOf = (gradient, learnTheta) =>
  Object.keys(VARIANTS).find(
    (k) => VARIANTS[k].gradient === gradient && VARIANTS[k].learnTheta === learnTheta,
  );
/** The trainer's default method: `stcsnn train` without --gradient or --learn-theta. */
const { trainerStc } = await importBuilt('dist/app/config/config.js');
const trainerDefault = trainerStc({});
const DEFAULT_VARIANT = variantOf(trainerDefault.gradient, trainerDefault.learnTheta);
if (!DEFAULT_VARIANT)
  throw new Error(
    `the trainer's default method (gradient ${trainerDefault.gradient}, learnTheta ${trainerDefault.learnTheta}) is none of bench/bench.js's variants: add it to VARIANTS`,
  );
const variants = [...new Set([...list(a.variants), DEFAULT_VARIANT])];
/** A variant's name as printed: `channel (default)`. */
const shown = (v) => (v === DEFAULT_VARIANT ? `${v} (default)` : v);

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
  batch: Number(a.batch),
  width: Number(a.width),
  smoke: a.smoke,
  default_variant: DEFAULT_VARIANT,
  precisions: list(a.precisions),
  peak_gflops: {
    gemm: torch && !a.smoke ? gemmPeak(a.python, Number(a.threads)) : null,
    nominal: nominalPeak(Number(a.threads)),
  },
};
log(
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.threads} threads, load ${machine.loadavg_at_start.join(' ')}`,
);
{
  const g = machine.peak_gflops.gemm;
  const n = machine.peak_gflops.nominal;
  const f = (v) => (v === null || v === undefined ? '-' : v.toFixed(0));
  log(
    `peak GFLOP/s: measured matrix product fp32 ${f(g?.fp32)}, bf16 ${f(g?.bf16)}; nominal fp32 ${f(n.fp32)}, bf16 ${f(n.bf16)} (${n.how})`,
  );
}
log(
  `trainer's default method: ${DEFAULT_VARIANT} (gradient ${trainerDefault.gradient}, learnTheta ${trainerDefault.learnTheta}); batch ${a.batch}, width ${a.width}${a.smoke ? '; smoke: one step each, figures checked, not timings' : ''}`,
);

// Both engines run libgomp with its own idle policy, or with OMP_WAIT_POLICY / GOMP_SPINCOUNT as set.
const pyEnv = { ...process.env };
machine.gomp_spincount = pyEnv.GOMP_SPINCOUNT ?? null;
machine.omp_wait_policy = pyEnv.OMP_WAIT_POLICY ?? null;

/** Why measurements failed (a failed one is left out of the figures). */
const failures = [];

/**
 * One measurement in its own process. `variant`: stcsnn's STC method (null in ann mode and
 * for PyTorch, whose STC is the ReLU mask with fixed thresholds: `relu`).
 */
function measure(engine, arch, mode, variant, phase, precision) {
  const common = [
    '--arch',
    arch,
    '--mode',
    mode,
    '--phase',
    phase,
    '--batch',
    a.batch,
    '--width',
    a.width,
    '--steps',
    a.steps,
    '--warmup',
    a.warmup,
    '--threads',
    a.threads,
    '--stat',
    a.stat,
    '--precision',
    precision,
  ];
  const method = variant
    ? ['--gradient', VARIANTS[variant].gradient, '--learn-theta', VARIANTS[variant].learnTheta]
    : [];
  const r =
    engine === 'pytorch'
      ? spawnSync(a.python, [join(here, 'pytorch_bench.py'), ...common], { encoding: 'utf8', env: pyEnv })
      : spawnSync(
          process.execPath,
          [join(here, 'run-stcsnn.js'), '--backend', engine, ...common, ...method],
          {
            encoding: 'utf8',
            cwd: join(here, '..'),
          },
        );
  const what = `${engine} ${arch} ${mode}${variant ? ` ${variant}` : ''} ${phase} ${precision}`;
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.trim().split('\n');
    const err = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit ${r.status}`;
    log(`  ${what}: failed (${err || `exit ${r.status}`})`);
    failures.push(`${what}: ${err || `exit ${r.status}`}`);
    return undefined;
  }
  const bad = [
    'ms_per_step',
    'images_per_second',
    'peak_rss_mb',
    ...(phase === 'train' ? ['loss'] : []),
  ].filter((k) => !(typeof m[k] === 'number' && Number.isFinite(m[k]) && (k === 'loss' || m[k] > 0)));
  if (r.status !== 0 || bad.length) {
    const why =
      r.status !== 0 ? `exit ${r.status}` : `not finite: ${bad.map((k) => `${k} ${m[k]}`).join(', ')}`;
    log(`  ${what}: failed (${why})`);
    failures.push(`${what}: ${why}`);
    return undefined;
  }
  return { ...m, precision, variant: variant ?? (engine === 'pytorch' && mode === 'stc' ? 'relu' : null) };
}

const median = (xs) => {
  const v = [...xs].sort((p, q) => p - q);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const key = (engine, arch, mode, variant, phase, precision) =>
  `${engine}/${arch}/${mode}/${variant ?? '-'}/${phase}/${precision}`;
const label = (r) => `${r.mode}${r.variant ? ` ${shown(r.variant)}` : ''}`;
/** Forward MACs per image of each network (run-stcsnn.js reports them; PyTorch's networks are the same). */
const macsOf = new Map();
/** GFLOP/s of a measurement (see the module comment), and its share of its precision's measured peak. */
function rate(r) {
  const macs = r.macs_per_image ?? macsOf.get(`${r.arch}/${r.width}`);
  if (!macs) return null;
  const gflops = ((r.phase === 'train' ? 3 : 1) * 2 * macs * r.images_per_second) / 1e9;
  const peak = machine.peak_gflops.gemm?.[r.precision];
  return { gflops: Number(gflops.toFixed(1)), of_peak: peak ? Number((gflops / peak).toFixed(3)) : null };
}
const row = (r) => {
  const g = rate(r);
  const gText = g
    ? `${g.gflops.toFixed(0).padStart(5)} GFLOP/s${g.of_peak === null ? '' : ` (${(100 * g.of_peak).toFixed(0)} % of peak)`}`
    : '';
  return `${r.engine.padEnd(16)} ${r.arch.padEnd(9)} ${label(r).padEnd(22)} ${r.phase.padEnd(5)} ${r.precision} ${String(r.ms_per_step).padStart(9)} ms/step ${String(r.images_per_second).padStart(8)} img/s  peak RSS ${r.peak_rss_mb} MB  ${gText}`;
};

/**
 * The configurations of one engine in one round: `[mode, variant, phase]`. stcsnn's STC
 * training runs each variant (their order reversed on odd rounds), its STC inference the
 * default's; PyTorch has one STC (`relu`).
 */
function configurations(engine, round) {
  const out = [];
  for (const precision of list(a.precisions)) {
    // bf16: the ANN and the default STC method (PyTorch: its ANN only; its STC is a reference for fp32)
    const bf16 = precision === 'bf16';
    if (bf16 && engine === 'wasm') continue;
    for (const mode of list(a.modes)) {
      for (const phase of list(a.phases)) {
        if (mode === 'ann') out.push([mode, null, phase, precision]);
        else if (engine === 'pytorch') {
          if (!bf16) out.push([mode, null, phase, precision]);
        } else if (phase === 'infer' || bf16) out.push([mode, DEFAULT_VARIANT, phase, precision]);
        else
          for (const v of round % 2 === 0 ? variants : [...variants].reverse())
            out.push([mode, v, phase, precision]);
      }
    }
  }
  return out;
}

/** @type {Map<string, any[]>} every round's measurement per configuration */
const byConfig = new Map();
/** @type {Map<string, any>[]} per round: configuration -> measurement */
const rounds = [];
const t0 = Date.now();
for (let round = 0; round < machine.rounds; round++) {
  const seen = new Map();
  rounds.push(seen);
  // alternate which engine goes first, so that a drift in the machine's speed favours neither
  const order = round % 2 === 0 ? engines : [...engines].reverse();
  for (const arch of list(a.archs)) {
    for (const engine of order) {
      for (const [mode, variant, phase, precision] of configurations(engine, round)) {
        const r = measure(engine, arch, mode, variant, phase, precision);
        if (!r) continue;
        if (r.macs_per_image) macsOf.set(`${arch}/${r.width}`, r.macs_per_image);
        const k = key(r.engine, arch, mode, r.variant, phase, precision);
        seen.set(k, r);
        byConfig.set(k, [...(byConfig.get(k) ?? []), r]);
        log(`  round ${round + 1}/${machine.rounds}  ${row(r)}`);
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
for (const r of results) Object.assign(r, rate(r));
if (machine.rounds > 1) {
  log(`median over ${machine.rounds} rounds:`);
  for (const r of results) log(`  ${row(r)}`);
}

const native = engines.includes('libtorch') ? 'stcsnn-libtorch' : 'stcsnn-wasm';
const ms = (n, d) => n.ms_per_step / d.ms_per_step;
/**
 * The ratios: [name, variant, numerator, denominator, value of a pair, target text or null,
 * test]; a side is [engine, mode, variant, phase].
 */
const targets = [];
const F = 'fp32';
const B = 'bf16';
const dflt = shown(DEFAULT_VARIANT);
targets.push([
  'stcsnn ann train ms / pytorch ann train ms',
  null,
  [native, 'ann', null, 'train', F],
  ['pytorch', 'ann', null, 'train', F],
  ms,
  '<= 1.0',
  (x) => x <= 1.0,
]);
for (const v of variants) {
  const stc = [native, 'stc', v, 'train', F];
  targets.push(
    [
      `stc ${shown(v)} train ms / stcsnn ann train ms`,
      v,
      stc,
      [native, 'ann', null, 'train', F],
      ms,
      v === DEFAULT_VARIANT ? '<= 1.05' : null,
      v === DEFAULT_VARIANT ? (x) => x <= 1.05 : null,
    ],
    [
      `stc ${shown(v)} train ms / pytorch ann train ms`,
      v,
      stc,
      ['pytorch', 'ann', null, 'train', F],
      ms,
      '<= 1.05',
      (x) => x <= 1.05,
    ],
  );
  if (VARIANTS[v].learnTheta !== 'off')
    targets.push([
      `stc ${shown(v)} train ms / stc clipped (fixed) train ms`,
      v,
      stc,
      [native, 'stc', 'clipped', 'train', F],
      ms,
      '<= 1.05',
      (x) => x <= 1.05,
    ]);
}
targets.push(
  [
    'stc relu train ms / pytorch stc (relu) train ms',
    'relu',
    [native, 'stc', 'relu', 'train', F],
    ['pytorch', 'stc', 'relu', 'train', F],
    ms,
    '< 1',
    (x) => x < 1,
  ],
  [
    `stc ${dflt} infer img/s / pytorch ann infer img/s`,
    DEFAULT_VARIANT,
    [native, 'stc', DEFAULT_VARIANT, 'infer', F],
    ['pytorch', 'ann', null, 'infer', F],
    (n, d) => n.images_per_second / d.images_per_second,
    '>= 0.9',
    (x) => x >= 0.9,
  ],
  [
    `stc ${dflt} train peak RSS / pytorch ann train peak RSS`,
    DEFAULT_VARIANT,
    [native, 'stc', DEFAULT_VARIANT, 'train', F],
    ['pytorch', 'ann', null, 'train', F],
    (n, d) => n.peak_rss_mb / d.peak_rss_mb,
    '<= 1',
    (x) => x <= 1,
  ],
  [
    `bf16: stc ${dflt} train ms / pytorch ann bf16 train ms`,
    DEFAULT_VARIANT,
    [native, 'stc', DEFAULT_VARIANT, 'train', B],
    ['pytorch', 'ann', null, 'train', B],
    ms,
    '<= 1.0',
    (x) => x <= 1.0,
  ],
  [
    `bf16: stc ${dflt} train ms / pytorch ann fp32 train ms`,
    DEFAULT_VARIANT,
    [native, 'stc', DEFAULT_VARIANT, 'train', B],
    ['pytorch', 'ann', null, 'train', F],
    ms,
    '<= 0.8',
    (x) => x <= 0.8,
  ],
  [
    'bf16: stcsnn ann train ms / pytorch ann bf16 train ms',
    null,
    [native, 'ann', null, 'train', B],
    ['pytorch', 'ann', null, 'train', B],
    ms,
    null,
    null,
  ],
  [
    `bf16: stc ${dflt} train ms / stc ${dflt} fp32 train ms`,
    DEFAULT_VARIANT,
    [native, 'stc', DEFAULT_VARIANT, 'train', B],
    [native, 'stc', DEFAULT_VARIANT, 'train', F],
    ms,
    null,
    null,
  ],
  [
    'bf16: pytorch ann bf16 train ms / pytorch ann fp32 train ms',
    null,
    ['pytorch', 'ann', null, 'train', B],
    ['pytorch', 'ann', null, 'train', F],
    ms,
    null,
    null,
  ],
);
/** P(X >= k) for X ~ Binomial(n, 1/2). */
function upperTail(n, k) {
  let c = 1;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    if (i >= k) sum += c;
    c = (c * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}

/** The sign test of the rule above: k of n rounds within the target. */
function signVerdict(n, k) {
  if (upperTail(n, k) <= 0.05) return 'shown met';
  if (upperTail(n, n - k) <= 0.05) return 'shown missed';
  return 'not resolved';
}

const ratios = [];
for (const arch of list(a.archs)) {
  for (const [name, variant, [ne, nm, nv, np, nq], [de, dm, dv, dp, dq], value, target, ok] of targets) {
    const perRound = rounds
      .map((seen) => [seen.get(key(ne, arch, nm, nv, np, nq)), seen.get(key(de, arch, dm, dv, dp, dq))])
      .filter(([n, d]) => n && d)
      .map(([n, d]) => value(n, d));
    if (perRound.length === 0) continue;
    const v = median(perRound);
    if (!Number.isFinite(v)) failures.push(`${arch} ${name}: not finite (${v})`);
    const within = ok ? perRound.filter((x) => ok(x)).length : null;
    ratios.push({
      arch,
      name,
      variant,
      value: Number(v.toFixed(3)),
      min: Number(Math.min(...perRound).toFixed(3)),
      max: Number(Math.max(...perRound).toFixed(3)),
      rounds: perRound.length,
      target,
      ok: ok ? ok(v) : null,
      within,
      verdict: ok ? signVerdict(perRound.length, within) : null,
    });
  }
}
if (ratios.length) {
  log(
    `ratios (${native}${engines.includes('pytorch') ? ' vs pytorch' : ''}, within each round; median over rounds, [min, max])${a.smoke ? ' (smoke: not timings)' : ''}:`,
  );
  const width = Math.max(...ratios.map((r) => r.name.length));
  for (const r of ratios)
    log(
      `  ${r.arch.padEnd(9)} ${r.name.padEnd(width)} ${String(r.value).padStart(7)}  [${r.min}, ${r.max}]${r.target && !a.smoke ? `  target ${r.target}  median ${r.ok ? 'met' : 'NOT met'}, ${r.within} of ${r.rounds} rounds within: ${r.verdict}` : ''}`,
    );
}
machine.loadavg_at_end = loadavg().map((v) => Number(v.toFixed(2)));
machine.seconds = Number(((Date.now() - t0) / 1000).toFixed(1));
if (a.json) {
  const strip = ({
    engine,
    arch,
    mode,
    variant,
    gradient,
    learn_theta,
    phase,
    precision,
    batch,
    width,
    ms_per_step,
    images_per_second,
    peak_rss_mb,
  }) => ({
    engine,
    arch,
    mode,
    variant,
    gradient: gradient ?? (variant ? VARIANTS[variant].gradient : null),
    learn_theta: learn_theta ?? (variant ? VARIANTS[variant].learnTheta : null),
    phase,
    precision,
    batch,
    width,
    ms_per_step,
    images_per_second,
    peak_rss_mb,
    ...rate({ arch, phase, precision, width, images_per_second }),
  });
  process.stdout.write(JSON.stringify({ machine, results: results.map(strip), ratios, failures }) + '\n');
}
if (a.out) {
  const tmp = `${a.out}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ machine, results, ratios, failures }, null, 2) + '\n');
  renameSync(tmp, a.out);
}
if (a.smoke) {
  const ran = results.length;
  if (failures.length === 0 && ran === 0) failures.push('no configuration ran');
  log(
    failures.length
      ? `smoke: FAILED (${failures.length}): ${failures.join('; ')}`
      : `smoke: ${ran} configurations ran one step each in ${machine.seconds} s, every figure finite${engines.includes('pytorch') ? '' : ` (PyTorch not measured: ${torch ? 'not among --engines' : `no torch for ${a.python}`})`}`,
  );
} else if (failures.length) log(`${failures.length} measurement(s) failed: ${failures.join('; ')}`);
if (failures.length) process.exitCode = 1;
