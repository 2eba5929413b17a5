/**
 * Fuzz tests of the command line: random argument vectors (known flags with valid and hostile
 * values, unknown flags, stray arguments, repeats) for `stcsnn train`, `encode`, `eval`,
 * `energy` and `predict`, run in this process through `main()`. Every one must end with exit
 * code 0 or 2 and, for 2, a one-line error; never an internal error (exit 1) or an exception.
 * `train` always gets `--out` naming a non-empty directory (and never `--force`), so it
 * validates every flag and stops before training; the directory must be left untouched.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import type { BackendRequest } from '../../lib/engine/backend.js';
import { configFromFlags } from '../cli/train.js';
import { checkTrainConfig } from '../config/config.js';
import type { CliRun } from './cli-worker.test-support.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const root = mkdtempSync(join(tmpdir(), 'stcsnn-clifuzz-'));
after(async () => {
  await worker?.terminate();
  rmSync(root, { recursive: true, force: true });
});

let worker: Worker;

/** Runs `stcsnn ...args` in the worker. */
function run(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: CliRun) => {
      worker.off('error', reject);
      resolve(m);
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
    worker.postMessage([...args]);
  });
}

const outDir = join(root, 'existing-run');
const garbage = join(root, 'garbage.safetensors');
const emptyDir = join(root, 'empty-run');
const junkImage = join(root, 'junk.png');

before(async () => {
  worker = new Worker(new URL('./cli-worker.test-support.js', import.meta.url), {
    stdout: true,
    stderr: true,
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  mkdirSync(outDir);
  writeFileSync(join(outDir, 'config.json'), '{"keep": true}\n');
  writeFileSync(join(outDir, 'log.jsonl'), '{"epoch":0}\n');
  writeFileSync(garbage, Buffer.from('\x10\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"F32"}}'));
  mkdirSync(emptyDir);
  writeFileSync(junkImage, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
});

/** Values no flag should choke on. */
const HOSTILE = [
  '',
  ' ',
  '-1',
  '0',
  '1.5',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '0x10',
  '2147483648',
  '9007199254740993',
  '1,2,3',
  ',',
  'abc',
  '--',
  '-',
  '../../etc/passwd',
  '/dev/null',
  '\u0000',
  'é🙂',
  'x'.repeat(2000),
  '__proto__',
  'constructor',
];

/** A flag with its plausible values; `undefined` values mean a boolean flag. */
type FlagSpec = readonly [flag: string, valid: readonly string[] | undefined];

const COMMON: FlagSpec[] = [
  ['--backend', [backend, 'cpu', 'tfjs', 'wasm ']],
  ['--threads', ['1', '2', '0', '100000']],
  ['--device', ['cpu', 'cuda', 'tpu']],
  ['--json', undefined],
  ['--debug', undefined],
];
const STC: FlagSpec[] = [
  ['--T', ['1', '4', '8', '64', '65']],
  ['--theta0', ['0.8', '2', '1e-30', '1e30']],
  ['--tau', ['2', '1', '0.5', '1e-9']],
  ['--schedule', ['exp', 'geometric', 'linear']],
  ['--fire', ['>=', '>', '==']],
];
const TRAIN: FlagSpec[] = [
  ...STC,
  ['--dataset', ['fashion-mnist-mini', 'cifar10', 'cifar10-dvs', 'imagefolder', 'mnist']],
  ['--data-dir', [emptyDir, '/nonexistent']],
  ['--arch', ['vgg11', 'vgg16', 'resnet18', 'vgg19']],
  ['--mode', ['stc', 'ann', 'snn']],
  ['--width', ['0.125', '0.25', '4', '5', '1e-9']],
  ['--path', ['fused', 'spike-train', 'fast']],
  ['--epochs', ['1', '100000', '100001']],
  ['--batch-size', ['1', '32', '65536', '65537']],
  ['--lr', ['0.1', '100', '1000', '1e30']],
  ['--momentum', ['0', '0.9', '1', '1.1']],
  ['--weight-decay', ['0', '5e-4', '1', '2']],
  ['--nesterov', undefined],
  ['--lr-schedule', ['cosine', 'step', 'constant', 'linear']],
  ['--augment', ['auto', 'none', 'all']],
  ['--seed', ['0', '7', '4294967295', '4294967296']],
  ['--repeats', ['1', '5', '0']],
  ['--limit-train', ['1', '100']],
  ['--limit-test', ['1', '100']],
  ['--time-budget', ['1', '0', '3600']],
  ['--preset', ['paper', 'cpu', 'fast']],
  ['--labels', ['fine', 'coarse', 'medium']],
  ['--frames', ['1', '16', '64', '65']],
  ['--resize', ['4', '48', '1024', '1025']],
  ['--channels', ['1', '3', '2']],
  ['--test-fraction', ['0.1', '0', '1', '1.5']],
  ['--cache-dir', [emptyDir]],
  ['--subset', undefined],
];
const ENCODE: FlagSpec[] = [...STC, ['--values', ['0.3,-0.2,1.5', '1', '0', '1e30,-1e30', '5e-324']]];
const EVAL: FlagSpec[] = [
  ['--checkpoint', [garbage, emptyDir, '/nonexistent.safetensors']],
  ['--which', ['best', 'last', 'first']],
  ['--dataset', ['fashion-mnist-mini', 'cifar10', 'x']],
  ['--data-dir', [emptyDir]],
  ['--limit', ['1', '0']],
  ['--batch-size', ['1', '100', '0']],
];
const ENERGY: FlagSpec[] = [
  ['--arch', ['vgg11', 'vgg16', 'resnet18', 'vgg19']],
  ['--dataset', ['cifar10', 'fashion-mnist', 'tinyimagenet', 'imagefolder', 'x']],
  ['--T', ['1', '8', '65']],
  ['--width', ['0.25', '0.5', '1', '4.5']],
  ['--checkpoint', [emptyDir, garbage, '/nonexistent']],
  ['--fire-rate', ['0', '0.15', '1', '1.5']],
  ['--e-mac', ['3.2', '0', '-1']],
  ['--e-ac', ['0.1', '-0.1']],
  ['--bn-macs', ['2', '-2']],
  ['--input-shape', ['32,32,3', '8,8,1', '4096,4096,3', '1,1,1', '32,32', '2147483648,1,1']],
  ['--classes', ['2', '10', '1', '99999999', '2147483648']],
];
const PREDICT: FlagSpec[] = [
  ['--model', [garbage, emptyDir, '/nonexistent.onnx']],
  ['--input', [junkImage, '/nonexistent.png', emptyDir]],
  ['--top', ['1', '5', '0', '100']],
];

/** Random argument vectors over `specs` (1 to 8 pieces). */
function argvOf(specs: readonly FlagSpec[]): fc.Arbitrary<string[]> {
  const piece: fc.Arbitrary<string[]> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(fc.constantFrom(...specs), fc.nat(3), fc.nat(), fc.constantFrom(...HOSTILE))
        .map(([[flag, valid], dice, k, hostile]) =>
          valid === undefined ? [flag] : [flag, dice > 0 ? valid[k % valid.length] : hostile],
        ),
    },
    // `--flag=value`, flags without their value, unknown flags and stray arguments.
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...specs), fc.constantFrom(...HOSTILE))
        .map(([[flag], v]) => [`${flag}=${v}`]),
    },
    { weight: 1, arbitrary: fc.constantFrom(...specs).map(([flag]) => [flag]) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(['--no-such-flag'], ['-x'], ['stray'], ['--'], ['-T', '4'])
        .map((a) => [...a]),
    },
  );
  return fc.array(piece, { minLength: 1, maxLength: 8 }).map((ps) => ps.flat());
}

/** Checks one run: exit 0 or 2, one-line error for 2, no internal error, no stack trace. */
function checkOutcome(args: readonly string[], r: CliRun): void {
  const what = `stcsnn ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  assert.equal(r.thrown, undefined, `${what}: exception escaped main()`);
  assert.ok(r.code === 0 || r.code === 2, `${what}: exit ${r.code}\n${r.err}`);
  assert.doesNotMatch(r.err, /internal error/, what);
  if (r.code === 2 && !/^\s*--debug\b/m.test(args.join('\n'))) {
    const errors = r.err.split('\n').filter((l) => /^(stcsnn: )?error:/.test(l));
    assert.equal(errors.length, 1, `${what}: one error line\n${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, `${what}: no stack trace`);
  }
}

async function fuzzCommand(
  name: string,
  prefix: readonly string[],
  fixed: readonly string[],
  specs: readonly FlagSpec[],
  numRuns: number,
  seed: number,
  extra?: (args: readonly string[], r: CliRun) => void,
): Promise<Record<number, number>> {
  const codes: Record<number, number> = {};
  await fc.assert(
    fc.asyncProperty(argvOf([...specs, ...COMMON]), async (argv) => {
      const args = [name, ...prefix, ...argv, ...fixed];
      const r = await run(args);
      codes[r.code] = (codes[r.code] ?? 0) + 1;
      checkOutcome(args, r);
      extra?.(args, r);
    }),
    { numRuns, seed, includeErrorInReport: true },
  );
  return codes;
}

function summary(codes: Record<number, number>): string {
  const n = Object.values(codes).reduce((a, b) => a + b, 0);
  return `${n} argument vectors (${Object.entries(codes)
    .map(([c, k]) => `exit ${c}: ${k}`)
    .join(', ')})`;
}

test('fuzz: stcsnn train options (a non-empty --out: validated, refused, left untouched)', async (t) => {
  const specs = TRAIN.filter(([f]) => f !== '--out');
  const codes = await fuzzCommand('train', [], ['--out', outDir], specs, 500, 101, (args, r) => {
    if (!args.includes('--help') && !args.includes('--version')) assert.equal(r.code, 2, args.join(' '));
  });
  t.diagnostic(`fuzz: stcsnn train: ${summary(codes)}`);
  assert.deepEqual(readdirSync(outDir).sort(), ['config.json', 'log.jsonl']);
  assert.equal(readFileSync(join(outDir, 'config.json'), 'utf8'), '{"keep": true}\n');
  assert.equal(readFileSync(join(outDir, 'log.jsonl'), 'utf8'), '{"epoch":0}\n');
});

test('fuzz: every configuration `stcsnn train` accepts can be resumed (passes checkTrainConfig)', (t) => {
  const flagValue = (valid: readonly string[]): fc.Arbitrary<string | undefined> =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.constantFrom(...valid) },
      { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
    );
  const keys: Record<string, readonly string[]> = {
    T: ['1', '4', '64'],
    theta0: ['0.8', '1e-30', '1e30', '1e308'],
    tau: ['2', '0.5', '1e-300'],
    width: ['0.125', '4'],
    epochs: ['1', '100000', '100001', '1e9'],
    batchSize: ['1', '65536', '65537', '1e9'],
    lr: ['0.1', '100', '101', '1e30'],
    momentum: ['0', '0.9', '1'],
    weightDecay: ['0', '1', '2', '1e30'],
    seed: ['0', '4294967295', '4294967296', '1e20'],
    limitTrain: ['1', '1e20'],
    limitTest: ['1', '1e20'],
    timeBudget: ['1', '1e300'],
  };
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.record(Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, flagValue(v)]))),
      (flags) => {
        let config;
        try {
          config = configFromFlags(flags as unknown as Parameters<typeof configFromFlags>[0]).config;
        } catch (e) {
          assert.ok(e instanceof Error && ['UsageError', 'ConfigError'].includes(e.name), String(e));
          assert.ok(!e.message.includes('\n'));
          rejected++;
          return;
        }
        accepted++;
        // What the trainer writes to config.json must be what --resume accepts.
        checkTrainConfig(JSON.parse(JSON.stringify(config)), 'config.json');
      },
    ),
    { numRuns: 3000, seed: 102, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: train flag sets: ${accepted + rejected} tried, ${accepted} accepted, ${rejected} refused`,
  );
  assert.ok(accepted > 0 && rejected > 0);
});

test('fuzz: stcsnn encode options', async (t) => {
  const codes = await fuzzCommand(
    'encode',
    ['--backend', backend, '--values', '0.5,-1'],
    [],
    ENCODE,
    400,
    103,
    (args, r) => {
      if (r.code === 0 && args.includes('--json') && !args.includes('--help'))
        assert.doesNotThrow(() => JSON.parse(r.out), `one JSON object: ${r.out.slice(0, 200)}`);
    },
  );
  t.diagnostic(`fuzz: stcsnn encode: ${summary(codes)}`);
  assert.ok((codes[0] ?? 0) > 0 && (codes[2] ?? 0) > 0);
});

test('fuzz: stcsnn eval, energy and predict options with damaged or missing files', async (t) => {
  const ev = await fuzzCommand('eval', ['--backend', backend], [], EVAL, 200, 104);
  t.diagnostic(`fuzz: stcsnn eval: ${summary(ev)}`);
  const en = await fuzzCommand(
    'energy',
    ['--arch', 'vgg11', '--dataset', 'cifar10', '--fire-rate', '0.1', '--width', '0.25'],
    [],
    ENERGY,
    300,
    105,
  );
  t.diagnostic(`fuzz: stcsnn energy: ${summary(en)}`);
  const pr = await fuzzCommand('predict', ['--backend', backend], [], PREDICT, 200, 106);
  t.diagnostic(`fuzz: stcsnn predict: ${summary(pr)}`);
  assert.ok((ev[2] ?? 0) > 0 && (en[0] ?? 0) > 0 && (en[2] ?? 0) > 0 && (pr[2] ?? 0) > 0);
});
