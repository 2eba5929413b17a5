/**
 * Input a new user gives by mistake (issue 24): an empty path (`--out ''`) is a usage error for
 * every command and nothing is written; a directory that cannot be created (a name too long)
 * leaves none of the parents it made; `--threads` above the machine's cores is capped with a
 * warning; commander's own errors carry the `stcsnn: error:` prefix. Issue 33: a blank path
 * (`--out ' '`) is refused as an empty one; a numeric value with whitespace (`--batch-size ' 32'`)
 * is refused naming the flag and the value, for every numeric flag; a value a shell split in two
 * names the words left over and the flag before them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { threadsFor } from '../cli/common.js';
import { CONFIG_FLAGS, configFromFlags, attributeOf } from '../cli/flags.js';
import { parseInteger, parseIntegerList, parseNumber, parseNumberList } from '../cli/options.js';
import { makeDirs } from '../../lib/util/fs.js';
import { runCli } from '../cli/cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-input-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** `stcsnn ARGS` run in the folder `cwd`. */
const cli = (args: string[], cwd: string) => runCli(args, { cwd });

const TINY = ['--limit-train', '16', '--limit-test', '16', '--width', '0.125', '--T', '2', '--epochs', '1'];

describe('an empty path is a usage error for every command', () => {
  const cases: [string, string[], string][] = [
    ['train --out', ['train', ...TINY, '--out', ''], '--out'],
    ['train --resume', ['train', '--resume', ''], '--resume'],
    ['train --data-dir', ['train', ...TINY, '--data-dir', ''], '--data-dir'],
    ['sweep --out', ['sweep', '--T', '2', '--theta0', '1', ...TINY.slice(0, 6), '--out', ''], '--out'],
    ['export --out', ['export', '--checkpoint', 'x.safetensors', '--out', ''], '--out'],
    ['eval --checkpoint', ['eval', '--checkpoint', ''], '--checkpoint'],
    ['report <dir>', ['report', ''], 'the <dir> of report'],
    ['reproduce --out', ['reproduce', '--out', ''], '--out'],
    ['data verify --data-dir', ['data', 'verify', '--data-dir', ''], '--data-dir'],
    ['launch -- train --out', ['launch', '--nproc', '2', '--', 'train', '--out', ''], '--out'],
  ];
  for (const [name, args, what] of cases) {
    it(`${name} ''`, () => {
      const cwd = join(root, name.replace(/[^a-z]+/g, '-'));
      mkdirSync(cwd);
      const r = cli(args, cwd); // refused before a backend starts
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `stcsnn: error: ${what} must not be empty\n`);
      assert.deepEqual(readdirSync(cwd), [], 'nothing is written in the current folder');
    });
  }
});

describe('a directory that cannot be created leaves none of the parents it made', () => {
  it('makeDirs: an over-long last component (ENAMETOOLONG)', () => {
    const base = join(root, 'long1');
    mkdirSync(base);
    assert.throws(() => makeDirs(join(base, 'a', 'b', 'x'.repeat(300))), { code: 'ENAMETOOLONG' });
    assert.deepEqual(readdirSync(base), []);
  });

  it('makeDirs: a 4,218-character path of short components', () => {
    const base = join(root, 'long2');
    mkdirSync(base);
    const path = join(base, Array.from({ length: 2109 }, () => 'd').join('/'));
    assert.throws(() => makeDirs(path), { code: 'ENAMETOOLONG' });
    assert.deepEqual(readdirSync(base), []);
  });

  it('makeDirs: a folder created meanwhile by another process is kept', () => {
    const base = join(root, 'long3');
    mkdirSync(join(base, 'a'), { recursive: true });
    mkdirSync(join(base, 'a', 'other'));
    assert.throws(() => makeDirs(join(base, 'a', 'b', 'x'.repeat(300))));
    assert.deepEqual(readdirSync(join(base, 'a')), ['other']);
  });

  it('train --out with a name too long: exit 2 naming the path, nothing left', () => {
    const cwd = join(root, 'long-cli');
    mkdirSync(cwd);
    const r = cli(['train', ...TINY, '--backend', backend, '--out', join('a', 'b', 'x'.repeat(300))], cwd);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^stcsnn: error: cannot create run directory .*: name too long \(ENAMETOOLONG\)\n$/,
    );
    assert.deepEqual(readdirSync(cwd), []);
  });
});

describe('--threads above the cores', () => {
  it('is capped at the cores, with a warning', () => {
    const cores = availableParallelism();
    const notices: string[] = [];
    assert.equal(
      threadsFor('999', (l) => notices.push(l)),
      cores,
    );
    assert.deepEqual(notices, [
      `warning: --threads 999 is more than the ${cores} cores of this machine; using ${cores}`,
    ]);
    assert.equal(
      threadsFor('3', (l) => notices.push(l), 4),
      3,
    );
    assert.equal(notices.length, 1, 'no warning within the cores');
    assert.throws(() => threadsFor('0', () => {}), /--threads must be an integer in 1\.\.1024, got 0/);
  });

  it('stcsnn train --threads 999 trains with the cap and says so', () => {
    const cwd = join(root, 'threads');
    mkdirSync(cwd);
    const r = cli(['train', ...TINY, '--backend', backend, '--threads', '999', '--out', 'run'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /stcsnn: warning: --threads 999 is more than the \d+ cores of this machine; using \d+/,
    );
    assert.ok(existsSync(join(cwd, 'run', 'result.json')));
  });
});

it("commander's errors carry the stcsnn: error: prefix", () => {
  const r = cli(['train', '--bogus'], root);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n')[0], "stcsnn: error: unknown option '--bogus'");
  const d = cli(['data', 'info', '--bogus'], root);
  assert.equal(d.stderr.split('\n')[0], "stcsnn: error: unknown option '--bogus'");
});

describe('a blank path is a usage error for every path flag (issue 33)', () => {
  // [name, args, the flag named, the blank value]; dry modes (--print-config) where a command has
  // one, so that a regression prints instead of training
  const cases: [string, string[], string, string][] = [
    ['train --out', ['train', ...TINY, '--out', ' ', '--print-config'], '--out', ' '],
    ['train --resume', ['train', '--resume', '  ', '--print-config'], '--resume', '  '],
    ['train --data-dir', ['train', ...TINY, '--data-dir', ' ', '--print-config'], '--data-dir', ' '],
    [
      'train --cache-dir',
      ['train', '--dataset', 'cifar10', '--cache-dir', ' ', '--print-config'],
      '--cache-dir',
      ' ',
    ],
    [
      'sweep --out',
      ['sweep', '--T', '2', '--theta0', '1', ...TINY.slice(0, 6), '--out', ' ', '--print-config'],
      '--out',
      ' ',
    ],
    ['eval --checkpoint', ['eval', '--checkpoint', ' '], '--checkpoint', ' '],
    ['eval --data-dir', ['eval', '--checkpoint', 'run', '--data-dir', ' '], '--data-dir', ' '],
    ['export --out', ['export', '--checkpoint', 'x.safetensors', '--out', ' '], '--out', ' '],
    ['predict --model', ['predict', '--model', ' ', '--input', 'a.png'], '--model', ' '],
    ['predict --input', ['predict', '--model', 'm.onnx', '--input', 'a.png', ' '], '--input', ' '],
    ['energy --checkpoint', ['energy', '--checkpoint', ' '], '--checkpoint', ' '],
    ['report <dir>', ['report', ' '], 'the <dir> of report', ' '],
    [
      'reproduce --out',
      ['reproduce', 'table2-fmnist-resnet18', '--out', ' ', '--print-config'],
      '--out',
      ' ',
    ],
    ['data verify --data-dir', ['data', 'verify', '--data-dir', '\t'], '--data-dir', '\\x09'],
    ['data fetch --data-dir', ['data', 'fetch', 'fashion-mnist', '--data-dir', ' '], '--data-dir', ' '],
    [
      'launch -- train --out',
      ['launch', '--nproc', '1', '--', 'train', '--out', ' ', '--print-config'],
      '--out',
      ' ',
    ],
  ];
  for (const [name, args, what, shown] of cases) {
    it(`${name} ' '`, () => {
      const cwd = join(root, `blank-${name.replace(/[^a-z]+/g, '-')}`);
      mkdirSync(cwd);
      const r = cli(args, cwd); // refused before a backend starts
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `stcsnn: error: ${what} must not be blank, got '${shown}'\n`);
      assert.deepEqual(readdirSync(cwd), [], 'nothing is written in the current folder (no folder " ")');
    });
  }
});

describe('a numeric value with whitespace is refused naming the flag and the value (issue 33)', () => {
  it('every numeric flag of train, sweep and launch -- train (the configuration flags)', () => {
    // a number field's flag: a value, not a choice, and text is refused (a path or a name is taken as typed)
    const refusesText = (f: (typeof CONFIG_FLAGS)[number]): boolean => {
      try {
        f.parse('x');
        return false;
      } catch {
        return true;
      }
    };
    const numeric = CONFIG_FLAGS.filter(
      (f) => f.arg !== undefined && f.choices === undefined && refusesText(f),
    );
    assert.equal(numeric.length, 19, numeric.map((f) => f.flag).join(' '));
    for (const f of numeric)
      for (const v of [' 1', '1 ', ' 1 ', '\t1']) {
        const flags = {
          [attributeOf(f)]: v,
          ...(f.path.startsWith('datasetOptions.') ? { dataset: datasetFor(f.flag) } : {}),
        };
        assert.throws(
          () => configFromFlags(flags),
          (e: Error) =>
            e.name === 'UsageError' &&
            e.message.startsWith(`${f.flag} must be `) &&
            e.message.endsWith(`got '${v}'`),
          `${f.flag} ${JSON.stringify(v)}`,
        );
      }
  });

  it("the other commands' numeric flags go through the same parsers", () => {
    for (const v of [' 32', '32 ']) {
      assert.throws(() => parseInteger('--batch-size', v, 1), {
        message: `--batch-size must be an integer in decimal digits, got '${v}'`,
      });
      assert.throws(() => parseNumber('--e-mac', v), {
        message: `--e-mac must be a finite number, got '${v}'`,
      });
    }
    assert.throws(() => parseNumberList('--values', '0.3, 1'), {
      message: "--values must be numbers separated by commas, without spaces; got '0.3, 1'",
    });
    assert.throws(() => parseIntegerList('--T', '2,4 '), {
      message: "--T must be integers separated by commas, without spaces; got '2,4 '",
    });
    assert.deepEqual(parseNumberList('--values', '0.3,-1'), [0.3, -1]);
  });

  const cases: [string, string[], string][] = [
    [
      'train --batch-size',
      ['train', '--batch-size', ' 32', '--print-config'],
      "--batch-size must be an integer in decimal digits, got ' 32'",
    ],
    ['train --lr', ['train', '--lr', '0.1 ', '--print-config'], "--lr must be a finite number, got '0.1 '"],
    [
      'train --time-budget',
      ['train', '--time-budget', '5 ', '--print-config'],
      "--time-budget must be a finite number, got '5 '",
    ],
    [
      'encode --theta0',
      ['encode', '--values', '1', '--theta0', ' 0.8'],
      "--theta0 must be a finite number, got ' 0.8'",
    ],
    [
      'sweep --theta0',
      ['sweep', '--theta0', '0.5, 1', '--print-config'],
      "--theta0 must be numbers separated by commas, without spaces; got '0.5, 1'",
    ],
    [
      'launch --nproc',
      ['launch', '--nproc', ' 2', '--', 'train'],
      "--nproc must be an integer in decimal digits, got ' 2'",
    ],
    [
      'reproduce --epochs',
      ['reproduce', 'table2-fmnist-resnet18', '--epochs', '2 ', '--print-config'],
      "--epochs must be an integer in decimal digits, got '2 '",
    ],
  ];
  for (const [name, args, message] of cases)
    it(`stcsnn ${name}: one line, exit 2`, () => {
      const cwd = join(root, `num-${name.replace(/[^a-z]+/g, '-')}`);
      mkdirSync(cwd);
      const r = cli(args, cwd);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `stcsnn: error: ${message}\n`);
      assert.deepEqual(readdirSync(cwd), []);
    });

  it("a value a shell split in two (`--batch-size ' 32'` through an unquoted variable) names the flag", () => {
    const r = cli(['train', '--batch-size', "'", "32'", '--print-config'], root);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      "stcsnn: error: train takes no arguments, got '32'' after --batch-size ''' (a value holding spaces must be quoted as one word)\n",
    );
    const d = cli(['data', 'info', 'x'], root);
    assert.equal(d.stderr, "stcsnn: error: data info takes no arguments, got 'x'\n");
    const j = cli(['report', 'a', 'b', '--json'], root);
    assert.equal(j.code, 2);
    assert.deepEqual(JSON.parse(j.stdout), {
      error: { message: "report takes at most 1 argument, got 'b'", code: 'usage' },
    });
  });
});

/** A data set the data-set option `flag` applies to. */
function datasetFor(flag: string): string {
  return (
    {
      '--frames': 'cifar10-dvs',
      '--resize': 'imagefolder',
      '--channels': 'imagefolder',
      '--test-fraction': 'imagefolder',
    }[flag] ?? 'cifar10'
  );
}
