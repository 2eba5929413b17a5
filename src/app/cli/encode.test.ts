import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './cli-run.test-support.js';

const run = (...args: string[]) => runCli(args, { timeout: 120_000 });

/** An independent implementation of docs/semantics.md §1 (float64). */
function simulate(x: number, T: number, theta0: number, tau: number) {
  const thresholds = Array.from({ length: T }, (_, t) => theta0 * Math.exp(-t / tau));
  let v = x;
  const spikes = thresholds.map((th) => {
    const s = v >= th ? 1 : 0;
    v -= s * th;
    return s;
  });
  return { thresholds, spikes, decoded: spikes.reduce((a: number, s, t) => a + s * thresholds[t], 0) };
}

test('encode --json with the paper defaults agrees with an independent implementation to 1e-6', () => {
  const values = [0.3, -0.2, 1.5, 0.8, 0, 2.5, 0.0241579];
  const r = run('encode', '--values', values.join(','), '--json', '--backend', 'wasm');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one JSON object');
  const out = JSON.parse(lines[0]) as {
    thresholds: number[];
    inputs: number[];
    spikes: number[][];
    decoded: number[];
    backend: string;
  };
  assert.deepEqual(Object.keys(out).slice(0, 4), ['thresholds', 'inputs', 'spikes', 'decoded']);
  assert.equal(out.backend, 'wasm');
  assert.deepEqual(out.inputs, values);
  values.forEach((x, i) => {
    const ref = simulate(x, 8, 0.8, 2);
    assert.deepEqual(out.spikes[i], ref.spikes, `spikes of ${x}`);
    assert.ok(Math.abs(out.decoded[i] - ref.decoded) <= 1e-6, `decoded ${x}`);
  });
  simulate(0, 8, 0.8, 2).thresholds.forEach((th, t) => assert.ok(Math.abs(out.thresholds[t] - th) <= 1e-12));
});

test('encode prints a readable table', () => {
  const r = run('encode', '--values', '0.3,-0.2,1.5', '--backend', 'wasm');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /thresholds: 0\.8/);
  assert.match(r.stdout, /1\.5\d*\s+11010001\s+4/);
});

for (const [args, re] of [
  [['--T', '0'], /T must be an integer in 1\.\.64, got 0/],
  [['--T', '65'], /T must be an integer in 1\.\.64/],
  [['--theta0', '-1'], /theta0 must be > 0/],
  [['--tau', '0'], /tau must be > 0 for the exp schedule/],
  [['--tau', '1', '--schedule', 'geometric'], /tau must be > 1 for the geometric schedule/],
  [['--schedule', 'linear'], /--schedule must be one of exp, geometric/],
  [['--values', '1,NaN'], /--values: 'NaN' is not a finite number/],
  [['--values', 'Infinity'], /--values: 'Infinity' is not a finite number/],
  [['--backend', 'tpu'], /argument 'tpu' is invalid/],
] as [string[], RegExp][]) {
  test(`encode ${args.join(' ')} exits 2 with a one-line error`, () => {
    const all = args.includes('--values') ? args : ['--values', '0.5', ...args];
    const r = run(
      'encode',
      ...all,
      '--backend',
      all.includes('--backend') ? all[all.indexOf('--backend') + 1] : 'wasm',
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  });
}

test('--debug adds the stack trace', () => {
  const r = run('encode', '--values', '1', '--T', '0', '--debug', '--backend', 'wasm');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /\n\s+at /);
});

test('--json errors: stdout carries {"error": {"message", "code"}}, stderr the one line, exit 2', () => {
  const bad = run('encode', '--values', '0.3', '--T', '0', '--json', '--backend', 'wasm');
  assert.equal(bad.code, 2, bad.stderr);
  const out = JSON.parse(bad.stdout.trim()) as { error: { message: string; code: string } };
  assert.match(out.error.message, /T/);
  assert.notEqual(out.error.code, 'internal');
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  const unknown = run('encode', '--values', '0.3', '--no-such-flag', '--json');
  assert.equal(unknown.code, 2);
  const u = JSON.parse(unknown.stdout.trim()) as { error: { message: string; code: string } };
  assert.equal(u.error.code, 'usage');
  assert.match(u.error.message, /no-such-flag/);
});
