#!/usr/bin/env node
// Which training method keeps an STCSNN at its ANN twin, measured cheaply: VGG16 or ResNet18 (width 0.25,
// T = 8) on a class-balanced 10,000-image subset of CIFAR-10 (2,000 test images), 6 epochs with
// the cosine schedule, one run per method at --threads 1 (two side by side on 2 cores). The
// methods: the ANN twin, the clipped mask with fixed thresholds, and the clipped mask with
// thresholds learned per layer and per input channel (docs/semantics.md §1.4-1.5). The paper's
// ReLU mask with fixed thresholds is the known failure (docs/results/table2-cifar10-vgg16) and
// the ReLU mask cannot learn thresholds (stcConfig refuses it), so neither is run here.
//
// Writes docs/results/method-short/summary.md (VGG16; method-short-resnet18/ for ResNet18) and,
// per method, the run's config.json, log.jsonl and result.json (the figures' source); runs that
// finished before are kept.
//
//   node bench/method-compare.mjs --data-dir DIR [--arch vgg16|resnet18] [--out DIR] [--jobs 2] [--json]
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { numberArg, scriptArgs } from '../scripts/script-cli.mjs';

const USAGE = `Usage: node bench/method-compare.mjs --data-dir DIR [options]   (after npm run build)

Trains VGG16 (or ResNet18) w0.25 on 10k CIFAR-10 images for 6 epochs with each training method
and writes docs/results/method-short/ (ResNet18: method-short-resnet18/): summary.md and each
run's config.json, log.jsonl, result.json.

Options:
  --data-dir DIR   CIFAR-10 as a JPEG folder copy (train/<class>/, test/<class>/)
  --arch A         vgg16 (default) or resnet18
  --out DIR        where the runs go (default runs/method-compare[-resnet18])
  --jobs N         runs side by side, each at --threads 1 (default 2)
  --json           the summary as one JSON object on stdout
  --debug, -h/--help`;
const { values: opt } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    'data-dir': { type: 'string' },
    arch: { type: 'string', default: 'vgg16' },
    out: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
if (opt['data-dir'] === undefined) {
  console.error('bench/method-compare.mjs: error: --data-dir is required');
  process.exit(2);
}
const jobs = numberArg('jobs', opt.jobs);
if (!Number.isInteger(jobs)) {
  console.error(`bench/method-compare.mjs: error: --jobs must be a whole number, got '${opt.jobs}'`);
  process.exit(2);
}
const ARCH_NAMES = { vgg16: 'VGG16', resnet18: 'ResNet18' };
if (!Object.hasOwn(ARCH_NAMES, opt.arch)) {
  console.error(`bench/method-compare.mjs: error: --arch must be vgg16 or resnet18, got '${opt.arch}'`);
  process.exit(2);
}
/** The folder suffix of an architecture other than the first comparison's (VGG16). */
const suffix = opt.arch === 'vgg16' ? '' : `-${opt.arch}`;

/** The methods compared, by name: the flags that select each. */
const METHODS = [
  ['ann', ['--mode', 'ann']],
  ['clipped, fixed thresholds', ['--gradient', 'clipped', '--learn-theta', 'off']],
  ['clipped, thresholds per layer', ['--gradient', 'clipped', '--learn-theta', 'layer']],
  ['clipped, thresholds per channel', ['--gradient', 'clipped', '--learn-theta', 'channel']],
];
const PROTOCOL = ['--dataset', 'imagefolder', '--arch', opt.arch, '--width', '0.25', '--epochs', '6'];
const SUBSET = [
  '--lr-schedule',
  'cosine',
  '--limit-train',
  '10000',
  '--limit-test',
  '2000',
  '--threads',
  '1',
];
const slug = (name) => name.replace(/[^a-z]+/g, '-').replace(/-$/, '');
const out = resolve(opt.out ?? `runs/method-compare${suffix}`);

function train([name, flags]) {
  const dir = join(out, slug(name));
  if (existsSync(join(dir, 'result.json'))) return Promise.resolve();
  const args = existsSync(join(dir, 'config.json'))
    ? ['--resume', dir, '--threads', '1']
    : [...PROTOCOL, '--data-dir', resolve(opt['data-dir']), ...SUBSET, ...flags, '--out', dir];
  console.error(`method-compare: ${name}: stcsnn train ${args.join(' ')}`);
  return new Promise((ok) => {
    const p = spawn(process.execPath, ['dist/app/cli/main.js', 'train', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    p.on('close', () => ok());
  });
}

const queue = [...METHODS];
await Promise.all(
  Array.from({ length: jobs }, async () => {
    for (let m = queue.shift(); m; m = queue.shift()) await train(m);
  }),
);

const results = METHODS.map(([name, flags]) => {
  const dir = join(out, slug(name));
  const f = join(dir, 'result.json');
  if (!existsSync(f)) return { method: name, flags: flags.join(' '), status: 'failed' };
  const r = JSON.parse(readFileSync(f, 'utf8'));
  return {
    method: name,
    flags: flags.join(' '),
    status: 'done',
    final_test_accuracy: r.test_accuracy,
    best_epoch_test_accuracy: r.best_test_accuracy,
  };
});
const ann = results[0].final_test_accuracy;
const pct = (v) => (v === undefined ? '-' : `${(100 * v).toFixed(2)} %`);
const dest = resolve(`docs/results/method-short${suffix}`);
mkdirSync(dest, { recursive: true });
for (const [name] of METHODS) {
  const dir = join(out, slug(name));
  mkdirSync(join(dest, slug(name)), { recursive: true });
  for (const file of ['config.json', 'log.jsonl', 'result.json'])
    if (existsSync(join(dir, file))) copyFileSync(join(dir, file), join(dest, slug(name), file));
}
const md = [
  `# Training methods on a CIFAR-10 subset (${ARCH_NAMES[opt.arch]} w0.25, 6 epochs)`,
  '',
  `Computed by \`node bench/method-compare.mjs --data-dir DIR${suffix ? ` --arch ${opt.arch}` : ''}\` from each run's result.json (beside this file).`,
  `Protocol: \`stcsnn train ${PROTOCOL.join(' ')} ${SUBSET.join(' ')}\` plus each method's flags; seed 0, one run each.`,
  '',
  '| method | flags | final test accuracy | minus the ANN twin (points) |',
  '| --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.method} | \`${r.flags}\` | ${r.status === 'done' ? pct(r.final_test_accuracy) : 'failed'} | ${
        r.status === 'done' && ann !== undefined ? (100 * (r.final_test_accuracy - ann)).toFixed(2) : '-'
      } |`,
  ),
  '',
].join('\n');
writeFileSync(join(dest, 'summary.md.tmp'), md);
renameSync(join(dest, 'summary.md.tmp'), join(dest, 'summary.md'));
if (opt.json) console.log(JSON.stringify({ results }));
else console.log(md);
