/* global console, process, URL */
// Every command line the documentation shows (scripts/doc-commands.mjs finds them: README.md,
// docs/**/*.md, examples/, bench/README.md, packages/libtorch/README.md) is checked here, so
// that a renamed flag, a removed command or a stale example fails the suite, naming the file
// and line. Each line is checked the cheapest way that can fail:
//   - `train`, `sweep`, `reproduce EXPERIMENT`: with `--print-config --json` appended (a dry mode:
//     nothing is trained or written); exit 0, and every flag's value is in the printed
//     configuration (train, sweep: with the source `flag`; reproduce: in the protocol);
//   - `eval`, `energy`, `export`, `predict`, `report`, `encode`, `doctor`, `data info`,
//     `reproduce --list`, `reproduce --from-json`: run for real, on fixtures (a run trained on the
//     embedded data set in before(), the ONNX and safetensors files exported from it, small
//     PNG/JPEG images, a copy of docs/results): exit 0;
//   - a mention without its inputs (`stcsnn eval`), `launch` (its ranks need libtorch with
//     c10d: the command after `--` is checked as its own line), `data fetch` (network): `--help`,
//     and every flag the line names must be an option of the command;
//   - lines the docs show as refused (EXPECTED_FAILURES): exit 2, one line on stderr;
//   - `npm start`, `npm run X`: the script exists (in the workspace for `-w`); the CLI command a
//     script runs is checked as above, and a script's arguments after `--` are parsed by it
//     (`node <script> ARGS --help`: an unknown option exits 2).
// Placeholders (runs/<run>, DIR, RUN_DIR, EXPERIMENT, `--seed s`, `--gradient g`, ...) are replaced
// by the fixtures as the tables below say; `[optional]` parts and `a|b` alternatives are
// expanded so that each appears in at least one variant.
// The CLI runs in a worker thread (src/app/reliability/cli-worker.test-support.ts), one command at a time, with
// the current directory a temporary folder: nothing is written in the repository.
// Run after `npm run build` (npm test does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { documentedCommands } from './doc-commands.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const { CONFIG_FLAGS } = await import(join(DIST, 'app/cli/flags.js'));
const { flattenConfig } = await import(join(DIST, 'app/config/config.js'));
const { datasetInfo } = await import(join(DIST, 'lib/data/registry.js'));
const { greyJpeg, pngBytes } = await import(join(DIST, 'lib/data/readers/fixture-files.test-support.js'));

/** The fixture run directory (trained in before()), relative to the commands' folder. */
const RUN = 'run';
/**
 * The experiment placeholders stand for: a Table 2 row (`--ann-from` applies to those only) with a
 * report.json under docs/results (copied for `--from-json`).
 */
const EXPERIMENT = 'table2-fmnist-resnet18';

/** Placeholders replaced in the text of a line before it is split into words. */
const TEXT_SUBSTITUTIONS = [
  [/runs\/<run or sweep>/g, RUN, 'a run or sweep directory: the fixture run'],
  [/runs\/<run>/g, RUN, 'a run directory: the fixture run'],
  [/<s>/g, '0', 'a seed'],
  [/\bEXPERIMENT\b|\bEXP\b/g, EXPERIMENT, 'an experiment id (its report.json is in docs/results)'],
];

/**
 * Placeholders replaced where they are the value of a flag (or the argument of `report`). The
 * run directories the docs name (RUN_DIR, DIR, /tmp/mon-relu, t2-cifar10-vgg16-stc-1h: runs made
 * by the documented trainings, not on this machine) are the fixture run; `--gradient g` (docs:
 * "per mask g in relu, clipped") is checked with both masks.
 */
const VALUE_SUBSTITUTIONS = {
  '--checkpoint': {
    RUN_DIR: RUN,
    '/tmp/mon-relu': RUN,
    't2-cifar10-vgg16-stc-1h': RUN,
  },
  '--resume': { DIR: RUN },
  '--model': { RUN_DIR: RUN },
  report: { RUN_DIR: RUN, RUN, '/tmp/mon-relu': RUN },
  '--seed': { s: '0', S: '0' },
  '--gradient': { g: 'relu|clipped' },
  '--nproc': { W: '2' },
  '--epochs': { N: '2' },
  '--seeds': { N: '2' },
  '--from-json': { PATH: `docs/results/${EXPERIMENT}/report.json` },
  '--ann-from': { 'REPORT.json': `docs/results/${EXPERIMENT}/report.json` },
};

/** Lines the docs show as refused: the exit code 2 in one line is what is documented. */
const EXPECTED_FAILURES = {
  'stcsnn energy --classes 2147483648':
    'docs/reliability.md: "was an internal error"; a bad request is now exit 2 in one line',
  'stcsnn train --limit-test 1e20': 'docs/reliability.md: such flags are now refused like config.json is',
};

/** Subcommands run for real when the line gives their inputs (else: `--help` and a flag check). */
const REAL_RUN = {
  eval: (a) => valueOf(a, '--checkpoint') !== undefined,
  energy: (a) => valueOf(a, '--checkpoint') !== undefined || valueOf(a, '--fire-rate') !== undefined,
  export: (a) => valueOf(a, '--checkpoint') !== undefined,
  predict: (a) => valueOf(a, '--model') !== undefined && valueOf(a, '--input') !== undefined,
  report: (a) => a.length > 1 && !a[1].startsWith('-'),
  encode: (a) => valueOf(a, '--values') !== undefined,
  doctor: () => true,
};

/** Why a line is only parsed (`--help` and its flags), by subcommand. */
const HELP_ONLY = {
  launch:
    'its ranks need the libtorch backend with c10d and train: its own flags are checked against --help, the command after -- as its own line',
  'data fetch': 'downloads from the network',
};

/** The value after `flag` in `args` (undefined when absent or followed by another flag). */
function valueOf(args, flag) {
  const i = args.indexOf(flag);
  const v = i < 0 ? undefined : args[i + 1];
  return v === undefined || v.startsWith('--') ? undefined : v;
}

/** Words of a command (quotes kept together); `[...]` groups and `a|b` alternatives marked. */
function parseSynopsis(text) {
  const words = text.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const items = []; // { optional, words: [[alt, ...], ...] }
  let group = null;
  for (const raw of words) {
    let w = raw;
    const quoted = /^['"]/.test(w);
    if (!quoted && w.startsWith('[') && group === null) {
      group = [];
      w = w.slice(1);
    }
    const closes = !quoted && group !== null && w.endsWith(']');
    if (closes) w = w.slice(0, -1);
    const alts = quoted ? [w.slice(1, -1)] : w === '...' ? [] : w.split('|');
    if (group !== null) {
      if (alts.length) group.push(alts);
      if (closes) {
        items.push({ optional: true, words: group });
        group = null;
      }
    } else if (alts.length) items.push({ optional: false, words: [alts] });
  }
  if (group !== null) items.push({ optional: true, words: group });
  return items;
}

/** The argument vectors of a synopsis: each alternative and each optional part at least once. */
function variants(items) {
  const pick = (words, a) => words.map((alts) => alts[Math.min(a, alts.length - 1)]);
  const base = (a) => items.filter((i) => !i.optional).flatMap((i) => pick(i.words, a));
  const most = (list) => Math.max(1, ...list.flatMap((i) => i.words.map((w) => w.length)));
  const out = [];
  for (let a = 0; a < most(items.filter((i) => !i.optional)); a++) out.push(base(a));
  items.forEach((item, k) => {
    if (!item.optional) return;
    for (let a = 0; a < most([item]); a++) {
      // the optional part in its place among the others
      out.push(items.flatMap((i, j) => (j === k ? pick(i.words, a) : i.optional ? [] : pick(i.words, 0))));
    }
  });
  const seen = new Set();
  return out.filter((v) => !seen.has(v.join('\0')) && seen.add(v.join('\0')));
}

/** Replaces placeholder values; returns the words and the substitutions made. */
function substitute(text) {
  const made = [];
  let t = text;
  for (const [re, by, why] of TEXT_SUBSTITUTIONS) {
    if (re.test(t)) made.push(`${String(re)} -> ${by} (${why})`);
    t = t.replace(re, by);
  }
  const items = parseSynopsis(t);
  const flat = items.flatMap((i) => i.words);
  flat.forEach((alts, i) => {
    const before = flat[i - 1]?.[0];
    const table = VALUE_SUBSTITUTIONS[before];
    if (!table) return;
    const by = alts.flatMap((a) => (Object.hasOwn(table, a) ? table[a].split('|') : [a]));
    for (const a of alts) if (Object.hasOwn(table, a)) made.push(`${before} ${a} -> ${table[a]}`);
    alts.splice(0, alts.length, ...by);
  });
  return { items, made };
}

/** The package.json scripts of the root and of each workspace (`-w NAME`). */
function scriptsOf(workspace) {
  const dir = workspace === undefined ? ROOT : join(ROOT, 'packages', workspace.replace(/^stcsnn-/, ''));
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts ?? {};
}

// ---- the CLI in a worker -------------------------------------------------------------------

let worker;
let work;
const answers = new Map(); // argv key -> promise of the answer

function startWorker() {
  worker = new Worker(join(DIST, 'app/reliability/cli-worker.test-support.js'));
  return new Promise((ready, fail) => {
    worker.once('error', fail);
    worker.once('message', (m) => (m === 'ready' ? ready() : fail(new Error(String(m)))));
  });
}

let queue = Promise.resolve();
/** Runs `stcsnn ...argv` in the worker (one at a time; the same argv once): { code, out, err }. */
function cli(argv) {
  const key = argv.join('\0');
  if (!answers.has(key)) {
    const answer = queue.then(
      () =>
        new Promise((done) => {
          worker.once('message', done);
          worker.postMessage(argv);
        }),
    );
    queue = answer.catch(() => {});
    answers.set(key, answer);
  }
  return answers.get(key);
}

/** Asserts that `stcsnn argv` exits `code`; returns its answer. */
async function expectExit(argv, code, where) {
  const r = await cli(argv);
  assert.equal(r.thrown, undefined, `${where}: stcsnn ${argv.join(' ')} threw:\n${r.thrown}`);
  assert.equal(
    r.code,
    code,
    `${where}: stcsnn ${argv.join(' ')} exited ${r.code} (expected ${code}):\n${r.out.slice(-2000)}\n${r.err.slice(-2000)}`,
  );
  return r;
}

/** The long options a command's --help lists: option -> its choices (or null). */
async function optionsOf(path, where) {
  const r = await expectExit([...path, '--help'], 0, where);
  // an option's entry: its line and the more-indented lines that continue its description
  const entries = r.out.split(/\n(?=\s{2}(?:-\w, )?--)/);
  const options = new Map();
  for (const e of entries) {
    const flag = e.match(/^\s+(?:-\w, )?(--[\w-]+)/)?.[1];
    if (!flag) continue;
    const choices = e
      .replace(/\s+/g, ' ')
      .match(/\(choices: (.*?)(?:, default: .*)?\)/)?.[1]
      .split(', ')
      .map((c) => c.replace(/^"(.*)"$/, '$1'));
    options.set(flag, choices ?? null);
  }
  return options;
}

/** The flags (`--x`) a command line names, before any `--`. */
function flagsOf(args) {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).filter((a) => /^--[\w-]/.test(a));
}

// ---- the checks ----------------------------------------------------------------------------

/** Checks a train/sweep `--print-config --json` report against the flags of `args`. */
function checkConfigFlags(args, report, where) {
  const flat = flattenConfig(report.config);
  for (const f of CONFIG_FLAGS) {
    const i = args.indexOf(f.flag);
    if (i < 0) continue;
    if (report.sources[f.path] === undefined) continue; // a sweep axis (T, theta0), or repeats
    assert.equal(report.sources[f.path], 'flag', `${where}: ${f.flag} is not the source of ${f.path}`);
    const raw = f.arg === undefined ? true : args[i + 1];
    const want = f.path === 'repeats' ? Number(raw) : f.parse(raw);
    const got = f.path === 'repeats' ? report.repeats : flat[f.path];
    assert.deepEqual(got, want, `${where}: ${f.flag} ${raw} printed as ${f.path} = ${JSON.stringify(got)}`);
  }
  const preset = valueOf(args, '--preset');
  if (preset !== undefined) assert.equal(report.preset, preset, `${where}: --preset`);
}

/** The flags that make a line print its configuration as JSON (those it does not give). */
const dryMode = (args) => ['--print-config', '--json'].filter((f) => !args.includes(f));

const numbers = (list) => list.split(',').map(Number);

const CHECKS = {
  async train(args, where) {
    const r = await expectExit([...args, ...dryMode(args)], 0, where);
    const report = JSON.parse(r.out);
    if (args.includes('--resume'))
      assert.equal(report.resumed_from, resolve(work, valueOf(args, '--resume')), `${where}: --resume`);
    else checkConfigFlags(args, report, where);
    return 'parsed: --print-config';
  },
  async sweep(args, where) {
    if (!args.includes('--theta0') && !args.includes('--T')) return help(args, where, 'a mention: no grid');
    const r = await expectExit([...args, ...dryMode(args)], 0, where);
    const report = JSON.parse(r.out);
    checkConfigFlags(args, report, where);
    for (const axis of ['theta0', 'T']) {
      const v = valueOf(args, `--${axis}`);
      if (v !== undefined) assert.deepEqual(report.grid[axis], numbers(v), `${where}: --${axis}`);
    }
    const out = valueOf(args, '--out');
    if (out !== undefined) assert.equal(report.dir, resolve(work, out), `${where}: --out`);
    return 'parsed: --print-config';
  },
  async reproduce(args, where) {
    if (args.includes('--list')) {
      const r = await expectExit(args, 0, where);
      assert.match(r.out, new RegExp(EXPERIMENT), `${where}: --list shows no ${EXPERIMENT}`);
      return 'run';
    }
    if (args.includes('--from-json')) {
      await expectExit(args, 0, where);
      return 'run (on a copy of docs/results)';
    }
    if (args.length < 2 || args[1].startsWith('-')) return help(args, where);
    const r = await expectExit([...args, ...dryMode(args)], 0, where);
    const plan = JSON.parse(r.out);
    assert.equal(plan.experiment, args[1], `${where}: experiment`);
    assert.equal(plan.scale, valueOf(args, '--scale') ?? 'cpu', `${where}: --scale`);
    const p = plan.protocol;
    const expect = {
      '--epochs': (v) => assert.equal(p.epochs, Number(v), `${where}: --epochs`),
      '--seeds': (v) => assert.equal(p.seeds, Number(v), `${where}: --seeds`),
      '--gradient': (v) => assert.deepEqual(p.gradients, [v], `${where}: --gradient`),
      '--learn-theta': (v) => assert.equal(p.learnTheta, v, `${where}: --learn-theta`),
      '--out': (v) => assert.equal(plan.out, join(resolve(work, v), args[1]), `${where}: --out`),
      '--ann-from': (v) => assert.equal(plan.ann_from, resolve(work, v), `${where}: --ann-from`),
    };
    for (const [flag, check] of Object.entries(expect)) {
      const v = valueOf(args, flag);
      if (v !== undefined) check(v);
    }
    assert.equal(plan.report_only, args.includes('--report-only'), `${where}: --report-only`);
    return 'parsed: --print-config';
  },
  async launch(args, where) {
    const end = args.indexOf('--');
    const own = end < 0 ? args : args.slice(0, end);
    const how = await help(own, where, HELP_ONLY.launch);
    if (end < 0) return how;
    const inner = await checkArgs(args.slice(end + 1), `${where} (the command after --)`);
    return `${how}; the command after --: ${inner}`;
  },
  async data(args, where) {
    const sub = args[1];
    if (sub === 'info' || sub === 'verify') {
      const dataset = valueOf(args, '--dataset') ?? 'fashion-mnist-mini';
      if (datasetInfo(dataset).locate?.(valueOf(args, '--data-dir')) == null)
        return help(args, where, `${dataset} is not on this machine`);
      await expectExit(args, 0, where);
      return 'run';
    }
    return help(args, where, HELP_ONLY[`data ${sub}`]);
  },
};

/** `--help` of the line's command, and each flag the line names is one of its options. */
async function help(args, where, why) {
  const path =
    args[0] === 'data' && args[1] && !args[1].startsWith('-') ? args.slice(0, 2) : args.slice(0, 1);
  const known = await optionsOf(path, where);
  for (const f of flagsOf(args)) {
    assert.ok(known.has(f), `${where}: stcsnn ${path.join(' ')} has no option ${f} (see its --help)`);
    const v = valueOf(args, f);
    const choices = known.get(f);
    if (choices && v !== undefined)
      assert.ok(choices.includes(v), `${where}: ${f} ${v} is none of ${choices.join(', ')} (see --help)`);
  }
  return `parsed: --help and its flags${why ? ` (${why})` : ''}`;
}

/** Checks one argument vector of `stcsnn`; returns how. */
async function checkArgs(args, where) {
  if (args.length === 1 && args[0] === '--help') {
    const r = await expectExit(args, 0, where);
    assert.match(r.out, /^Usage: stcsnn /);
    return 'run';
  }
  const line = `stcsnn ${args.join(' ')}`;
  if (Object.hasOwn(EXPECTED_FAILURES, line)) {
    const r = await expectExit(args, 2, where);
    assert.equal(r.err.trimEnd().split('\n').length, 1, `${where}: not one line:\n${r.err}`);
    assert.doesNotMatch(r.err, /internal error/);
    return `refused as documented: exit 2 (${EXPECTED_FAILURES[line]})`;
  }
  const sub = args[0];
  if (Object.hasOwn(CHECKS, sub)) return CHECKS[sub](args, where);
  if (Object.hasOwn(REAL_RUN, sub) && REAL_RUN[sub](args)) {
    // eval: the first 64 test images are enough to show the command works
    const extra = sub === 'eval' && !args.includes('--limit') ? ['--limit', '64'] : [];
    await expectExit([...args, ...extra], 0, where);
    return extra.length ? 'run (with --limit 64)' : 'run';
  }
  return help(args, where, HELP_ONLY[sub]);
}

/** Checks `npm start` / `npm run ...`; returns how. */
async function checkNpm(words, where) {
  // npm run [-s] NAME [-w WORKSPACE] [-- ARGS]
  const end = words.indexOf('--');
  const own = end < 0 ? words : words.slice(0, end);
  const rest = end < 0 ? [] : words.slice(end + 1);
  const name = own[1] === 'start' ? 'start' : own.slice(2).find((w) => !w.startsWith('-'));
  const w = own.indexOf('-w');
  const workspace = w < 0 ? undefined : own[w + 1];
  const scripts = scriptsOf(workspace);
  assert.ok(
    Object.hasOwn(scripts, name),
    `${where}: no script '${name}' in ${workspace ?? 'the root'}'s package.json`,
  );
  const body = scripts[name];
  const cli = body.match(/(?:^|&& )node dist\/app\/cli\/main\.js ([^&]*)$/);
  if (cli) return `the script's command: ${await checkArgs([...cli[1].trim().split(/\s+/), ...rest], where)}`;
  const node = body.match(/(?:^|&& )node (\S+\.m?js)$/);
  if (rest.length) {
    assert.ok(
      node,
      `${where}: the script '${name}' (${body}) runs no node script to pass ${rest.join(' ')} to`,
    );
    const r = spawnSync(process.execPath, [node[1], ...rest, '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${where}: node ${node[1]} ${rest.join(' ')} --help: ${r.stderr}`);
    return `script exists, its arguments parsed (node ${node[1]} ... --help)`;
  }
  return 'script exists (not run: it builds, serves or benchmarks)';
}

/** Checks one documented command line; returns how it was checked. */
async function checkLine(c) {
  const where = `${c.file}:${c.line}`;
  const { items, made } = substitute(c.text);
  const how = [];
  for (const words of variants(items)) {
    let h;
    if (words[0] === 'npm') h = await checkNpm(words, where);
    else {
      const skip = words[0] === 'npx' ? 2 : words[0] === 'node' ? 2 : 1;
      h = await checkArgs(words.slice(skip), where);
    }
    how.push(h);
  }
  return { how: [...new Set(how)].join('; '), made };
}

// ---- the tests -----------------------------------------------------------------------------

const commands = documentedCommands();
const tally = new Map();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'stcsnn-docs-commands-'));
  process.chdir(work);
  cpSync(join(ROOT, 'docs', 'results'), join(work, 'docs', 'results'), { recursive: true });
  writeFileSync(
    join(work, 'shirt.png'),
    pngBytes(28, 28, 0, (y, x) => [(y * 9 + x) & 255, 0, 0, 255]),
  );
  writeFileSync(
    join(work, 'a.png'),
    pngBytes(28, 28, 2, (y, x) => [y * 9, x * 9, 128, 255]),
  );
  writeFileSync(
    join(work, 'b.jpg'),
    greyJpeg(4, 4, (r, c) => (r * 16 + c * 8) & 255),
  );
  await startWorker();
  const fixture = 'before(): the fixture run';
  await expectExit(
    ['train', '--limit-train', '64', '--limit-test', '32', '--epochs', '1', '--width', '0.125', '--out', RUN],
    0,
    fixture,
  );
  await expectExit(['export', '--checkpoint', RUN, '--out', 'model.onnx'], 0, fixture);
  await expectExit(
    ['export', '--checkpoint', RUN, '--format', 'safetensors', '--out', 'model.safetensors'],
    0,
    fixture,
  );
});

after(async () => {
  await worker?.terminate();
  process.chdir(ROOT);
  if (work) rmSync(work, { recursive: true, force: true });
  const counts = [...tally.entries()].map(([how, n]) => `${n} ${how}`).join('\n  ');
  console.log(`\n${commands.length} documented command lines checked:\n  ${counts}`);
});

test('the documentation shows command lines, and all of them are found', () => {
  // a floor, so that a change that breaks the extraction cannot pass as "nothing to check"
  assert.ok(commands.length >= 200, `only ${commands.length} command lines found`);
  for (const file of [
    'README.md',
    'docs/cli.md',
    'docs/reproduce.md',
    'docs/bench.md',
    'docs/distributed.md',
    'bench/README.md',
    'packages/libtorch/README.md',
  ])
    assert.ok(
      commands.some((c) => c.file === file),
      `no command line found in ${file}`,
    );
});

describe('documented command lines', () => {
  for (const c of commands) {
    test(`${c.file}:${c.line}: ${c.text}`, { timeout: 300_000 }, async (t) => {
      const { how, made } = await checkLine(c);
      tally.set(how.replace(/ \(.*?\)/g, ''), (tally.get(how.replace(/ \(.*?\)/g, '')) ?? 0) + 1);
      t.diagnostic(how);
      for (const m of made) t.diagnostic(`placeholder ${m}`);
    });
  }
});

test('the substitutions and expansions are used (a table entry no line needs is stale)', () => {
  const used = new Set(commands.flatMap((c) => substitute(c.text).made.map((m) => m.split(' -> ')[0])));
  for (const [re] of TEXT_SUBSTITUTIONS)
    assert.ok(
      [...used].some((u) => u === String(re)),
      `TEXT_SUBSTITUTIONS ${re} is used by no line`,
    );
  for (const [before, table] of Object.entries(VALUE_SUBSTITUTIONS))
    for (const value of Object.keys(table))
      assert.ok(used.has(`${before} ${value}`), `VALUE_SUBSTITUTIONS ${before} ${value} is used by no line`);
  for (const line of Object.keys(EXPECTED_FAILURES))
    assert.ok(
      commands.some((c) => c.text === line),
      `EXPECTED_FAILURES '${line}' is in no doc`,
    );
  assert.ok(existsSync(join(ROOT, 'docs', 'results', EXPERIMENT, 'report.json')));
});
