// The scripts users are told to run (docs/bench.md, bench/README.md) follow the CLI's conventions
// (scripts/script-cli.mjs): `--help` prints the usage and exits 0; bad input is one line on
// stderr and exit code 2, never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = [
  'bench/bench.js',
  'bench/run-stcsnn.js',
  'bench/fmnist-target.mjs',
  'bench/method-choice.mjs',
  'bench/method-compare.mjs',
  'scripts/make-embedded-fmnist.mjs',
  'scripts/bundle-gradients.mjs',
  'scripts/doc-commands.mjs',
  'scripts/test.mjs',
];

function run(script, args) {
  return spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

for (const script of SCRIPTS) {
  test(`${script} --help prints its usage and exits 0`, () => {
    const r = run(script, ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: /);
    assert.equal(r.stderr, '');
  });

  test(`${script}: an unknown option is one line on stderr, exit 2`, () => {
    const r = run(script, ['--no-such-option']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${script}: Unknown option '--no-such-option' (see --help)\n`);
  });
}

test('malformed values are refused in one line, exit 2', () => {
  for (const [script, args, message] of [
    ['bench/bench.js', ['--rounds', '0'], /--rounds must be an integer >= 1/],
    ['bench/bench.js', ['--archs', 'vgg13'], /--archs must be one of/],
    ['bench/run-stcsnn.js', ['--phase', 'eval'], /--phase must be one of train, infer/],
    [
      'bench/fmnist-target.mjs',
      ['--gradient', 'straight-through'],
      /--gradient must be one of relu, clipped/,
    ],
    ['scripts/make-embedded-fmnist.mjs', ['a', 'b'], /unexpected argument 'b'/],
    ['bench/method-choice.mjs', ['frobnicate'], /the command must be rule, run, summary or table2, got 'frobnicate'/],
    ['bench/method-choice.mjs', ['table2', '--learn-theta', 'layer'], /--learn-theta must be off or channel, got 'layer'/],
  ]) {
    const r = run(script, args);
    assert.equal(r.status, 2, `${script} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
});
