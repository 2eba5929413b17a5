import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { STRICT_READERS } from '../../lib/data/readers/index.js';
import { DATASET_NAMES } from '../../lib/data/registry.js';
import { DEFAULT_VALUES, RESUME_MAY_CHANGE, RESUME_OVERRIDES, TRAIN_DEFAULTS } from '../config/config.js';
import { attributeOf, CONFIG_FLAGS, configFromFlags, RESUME_REFUSED } from './flags.js';
import { sweepCommand } from './sweep.js';
import { trainCommand } from './train.js';
import { runCli } from './cli-run.test-support.js';

const run = (cwd: string, ...args: string[]) => runCli(args, { cwd, timeout: 120_000 });

test('commander fills no defaults for configuration flags; --help shows the schema’s', () => {
  const cmd = trainCommand();
  const attrs = new Set(CONFIG_FLAGS.map(attributeOf));
  const opts = cmd.options.filter((o) => attrs.has(o.attributeName()));
  assert.equal(opts.length, CONFIG_FLAGS.length);
  for (const o of opts) assert.equal(o.defaultValue, undefined, o.long);
  const epochs = opts.find((o) => o.long === '--epochs');
  assert.match(epochs?.description ?? '', new RegExp(`\\(default: ${DEFAULT_VALUES.epochs}\\)`));
  assert.match(opts.find((o) => o.long === '--theta0')?.description ?? '', /0\.8; 2 for cifar10-dvs/);
  assert.match(opts.find((o) => o.long === '--schedule')?.description ?? '', /\(choices: exp, geometric\)/);
  // ranges from the schema (the STC block's from the core, data-set options' from their schema)
  const ranges: [string, string][] = [
    ['--T', '(an integer in 1..64)'],
    ['--width', '(in (0, 4])'],
    ['--epochs', '(an integer in 0..100000)'],
    ['--frames', '(an integer in 1..64)'],
    ['--resize', '(an integer in 4..1024)'],
    ['--test-fraction', '(in (0, 1))'],
  ];
  for (const [flag, range] of ranges)
    assert.ok(opts.find((o) => o.long === flag)?.description.includes(range), `${flag} ${range}`);
  assert.equal(cmd.options.find((o) => o.long === '--preset')?.defaultValue, undefined);
});

test('every table flag but --epochs, --time-budget, --data-dir and the override --lr is refused with --resume and inherited by sweep (but its axes and --repeats)', () => {
  for (const f of CONFIG_FLAGS)
    assert.equal(
      RESUME_REFUSED.includes(attributeOf(f)),
      !RESUME_MAY_CHANGE.includes(f.path) && !RESUME_OVERRIDES.includes(f.path),
      f.flag,
    );
  assert.deepEqual(
    CONFIG_FLAGS.filter((f) => !RESUME_REFUSED.includes(attributeOf(f))).map((f) => f.flag),
    ['--data-dir', '--epochs', '--lr', '--time-budget'],
  );
  assert.ok(RESUME_REFUSED.includes('preset') && RESUME_REFUSED.includes('out'));
  const sweep = sweepCommand().options;
  for (const f of CONFIG_FLAGS) {
    const o = sweep.filter((s) => s.long === f.flag);
    if (f.path === 'repeats') assert.equal(o.length, 0);
    else assert.equal(o.length, 1, f.flag);
    if (f.path === 'stc.T' || f.path === 'stc.theta0') assert.equal(o[0].flags.includes('<list>'), true);
  }
  assert.ok(sweep.some((o) => o.long === '--preset'));
});

test('without a preset, the flags give the same configuration as before (defaults, theta0 of the data set)', () => {
  const { config, repeats } = configFromFlags({});
  assert.deepEqual(config, TRAIN_DEFAULTS);
  assert.equal(repeats, 1);
  const dvs = configFromFlags({ dataset: 'cifar10-dvs', epochs: '2', nesterov: true, T: '4' }).config;
  assert.deepEqual(
    [dvs.stc.theta0, dvs.epochs, dvs.nesterov, dvs.stc.T, dvs.lrSchedule],
    [2, 2, true, 4, 'cosine'],
  );
  assert.throws(() => configFromFlags({ width: '5' }), /^ConfigError: --width must be in \(0, 4\], got 5$/);
  assert.throws(
    () => configFromFlags({ epochs: 'x' }),
    /^UsageError: --epochs must be an integer in decimal digits/,
  );
  assert.throws(() => configFromFlags({ theta0: 'x' }), /^UsageError: --theta0 must be a finite number/);
  assert.throws(() => configFromFlags({ preset: 'fast' }), /^UsageError: --preset must be one of paper, cpu/);
});

test('--subset sets strict: false for the readers with a strict mode, and is refused for the others', () => {
  for (const dataset of DATASET_NAMES) {
    if ((STRICT_READERS as readonly string[]).includes(dataset)) {
      assert.equal(configFromFlags({ dataset, subset: true }).config.datasetOptions.strict, false, dataset);
      assert.equal(configFromFlags({ dataset }).config.datasetOptions.strict, undefined);
    } else
      assert.throws(
        () => configFromFlags({ dataset, subset: true }),
        new RegExp(`^UsageError: --subset applies to ${STRICT_READERS.join(', ')}, not ${dataset}$`),
      );
  }
  assert.match(trainCommand().helpInformation(), /--subset\s+accept a subset/);
});

test('stcsnn train --gradient relu: --learn-theta derives off from the mask (the clipped default, channel, otherwise), and --print-config names the source', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'stcsnn-derived-'));
  try {
    const of = (...args: string[]) => {
      const r = run(cwd, 'train', ...args, '--print-config', '--json');
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as {
        config: { stc: { gradient: string; learnTheta: string } };
        sources: Record<string, string>;
      };
      return [out.config.stc.gradient, out.config.stc.learnTheta, out.sources['stc.learnTheta']];
    };
    assert.deepEqual(of('--gradient', 'relu'), ['relu', 'off', 'derived']);
    assert.deepEqual(of(), [TRAIN_DEFAULTS.stc.gradient, TRAIN_DEFAULTS.stc.learnTheta, 'derived']);
    assert.deepEqual(of('--gradient', 'clipped', '--learn-theta', 'off'), ['clipped', 'off', 'flag']);
    const table = run(cwd, 'train', '--gradient', 'relu', '--print-config');
    assert.match(table.stdout, /stc\.learnTheta\s+off\s+derived from stc\.gradient/);
    const refused = run(cwd, 'train', '--gradient', 'relu', '--learn-theta', 'channel', '--print-config');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^stcsnn: error: --learn-theta 'channel' needs the clipped gradient mask/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('stcsnn train --print-config: the resolved configuration with sources, no run directory; bad presets exit 2', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'stcsnn-printcfg-'));
  try {
    const r = run(
      cwd,
      'train',
      '--preset',
      'paper',
      '--dataset',
      'fashion-mnist-mini',
      '--T',
      '4',
      '--print-config',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      config: { epochs: number; lrSchedule: string; stc: { T: number } };
      repeats: number;
      sources: Record<string, string>;
    };
    assert.equal(out.config.epochs, 100);
    assert.equal(out.config.lrSchedule, 'step');
    assert.equal(out.config.stc.T, 4);
    assert.equal(out.repeats, 5);
    assert.deepEqual(
      [
        out.sources.epochs,
        out.sources['stc.T'],
        out.sources['stc.theta0'],
        out.sources.seed,
        out.sources.dataset,
      ],
      ['preset', 'flag', 'dataset', 'default', 'flag'],
    );
    assert.deepEqual(readdirSync(cwd), [], 'no run directory');

    // --resume: the saved configuration, every value 'resumed'
    const runDir = join(cwd, 'run');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...TRAIN_DEFAULTS, epochs: 7 }));
    const res = run(cwd, 'train', '--resume', runDir, '--print-config', '--json');
    assert.equal(res.code, 0, res.stderr);
    const resumed = JSON.parse(res.stdout) as { config: { epochs: number }; sources: Record<string, string> };
    assert.equal(resumed.config.epochs, 7);
    assert.ok(Object.values(resumed.sources).every((s) => s === 'resumed'));
    assert.deepEqual(readdirSync(runDir), ['config.json']);

    const bad = run(cwd, 'train', '--preset', 'paper', '--dataset', 'imagefolder', '--print-config');
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr.trim(),
      /^stcsnn: error: preset paper does not cover data set imagefolder [^\n]*$/,
    );
    assert.ok(!existsSync(join(cwd, 'runs')));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('integer flags take decimal digits only; every cap has one wording naming the flag as typed', () => {
  for (const bad of ['0x10', '1e1', ' 8', '+8', '8.0', '8 ', ''])
    assert.throws(
      () => configFromFlags({ T: bad }),
      new RegExp(`^UsageError: --T must be an integer in decimal digits, got '${bad.replace('+', '\\+')}'$`),
      JSON.stringify(bad),
    );
  assert.equal(configFromFlags({ T: '08' }).config.stc.T, 8, 'leading zeros are decimal');
  assert.throws(
    () => configFromFlags({ limitTrain: '1e3' }),
    /^UsageError: --limit-train must be an integer in decimal digits/,
  );
  assert.throws(
    () => configFromFlags({ repeats: '0x2' }),
    /^UsageError: --repeats must be an integer in decimal digits/,
  );
  // the same "FLAG must be RANGE, got V" for the schema's, the STC block's and the table's caps
  const caps: [Record<string, string>, RegExp][] = [
    [{ limitTest: '0' }, /^ConfigError: --limit-test must be an integer >= 1, got 0$/],
    [{ epochs: '100001' }, /^ConfigError: --epochs must be an integer in 0\.\.100000, got 100001$/],
    [{ T: '65' }, /^ConfigError: --T must be an integer in 1\.\.64, got 65$/],
    [{ repeats: '0' }, /^ConfigError: --repeats must be an integer >= 1, got 0$/],
    [{ dataset: 'cifar10-dvs', frames: '0' }, /^UsageError: --frames must be an integer in 1\.\.64, got 0$/],
    [
      { dataset: 'imagefolder', testFraction: '1' },
      /^UsageError: --test-fraction must be in \(0, 1\), got 1$/,
    ],
  ];
  for (const [flags, re] of caps) assert.throws(() => configFromFlags(flags), re);
  // no camelCase configuration path in a message about a flag
  for (const flags of [
    { limitTest: '0' },
    { limitTrain: '-1' },
    { batchSize: '0' },
    { weightDecay: '2' },
    { timeBudget: '0' },
  ])
    assert.throws(
      () => configFromFlags(flags),
      (e: Error) => /--[a-z]+-[a-z]+/.test(e.message) && !/[a-z][A-Z]/.test(e.message),
    );
});

test('--data-dir is refused for the embedded data set, like other flags that do not apply', () => {
  assert.throws(
    () => configFromFlags({ dataDir: '/tmp' }),
    /^UsageError: --data-dir applies to [^\n]*not fashion-mnist-mini \(it is embedded in the package and reads no directory\)$/,
  );
  assert.equal(configFromFlags({ dataset: 'fashion-mnist', dataDir: '/tmp/x' }).config.dataDir, '/tmp/x');
});

test('thresholds far from the scale of STCB inputs warn once on stderr (train), naming sum theta', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'stcsnn-theta-'));
  try {
    const big = run(cwd, 'train', '--theta0', '1e30', '--print-config', '--backend', 'wasm');
    assert.equal(big.code, 0, big.stderr);
    const warnings = big.stderr.split('\n').filter((l) => l.startsWith('stcsnn: warning:'));
    assert.equal(warnings.length, 1, big.stderr);
    assert.match(warnings[0], /never spike .*largest input it can encode is sum theta = 2\.49e\+30/);
    const small = run(cwd, 'train', '--theta0', '1e-6', '--print-config', '--backend', 'wasm');
    assert.match(small.stderr, /sum theta = 0\.00000249.*every positive input saturates/);
    const paper = run(cwd, 'train', '--print-config', '--backend', 'wasm');
    assert.doesNotMatch(paper.stderr, /warning/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('sweep: the --T axis takes decimal integers only', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'stcsnn-sweepT-'));
  try {
    const r = run(cwd, 'sweep', '--T', '4,0x10', '--backend', 'wasm');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim(), "stcsnn: error: --T: '0x10' is not an integer in decimal digits");
    assert.deepEqual(readdirSync(cwd), [], 'nothing created');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
