/**
 * Runs over ranks end to end: `stcsnn train --repeats 2` and a 2-point `stcsnn sweep` as two
 * ranks on 127.0.0.1, each rank training one run alone, against one process training both.
 * Same seeds and the same numerics (one thread each), so the accuracies must be identical.
 *
 * The two-process tests run on the libtorch pass where c10d is built, and say why otherwise.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../app/cli/launch.js';
import { LOCK_FILE } from '../../app/rundir/layout.js';
import { distUnavailableReason } from './process-group.js';
import { cli, type Ran } from './cli-process.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const skip =
  backend !== 'libtorch'
    ? 'two-process tests run on the libtorch pass'
    : await distUnavailableReason('libtorch');

const SMALL = [
  ...['--dataset', 'fashion-mnist-mini', '--limit-train', '64', '--limit-test', '32', '--width', '0.125'],
  ...['--epochs', '1', '--backend', 'libtorch', '--threads', '1', '--T', '2', '--json'],
];

/** Runs `args` as ranks 0..n-1 of one group on a free loopback port. */
async function ranks(n: number, args: string[]): Promise<Ran[]> {
  const port = String(await freePort());
  return Promise.all(
    Array.from({ length: n }, (_, r) =>
      cli([...args, '--world-size', String(n), '--rank', String(r), '--master-port', port]),
    ),
  );
}

const lastLine = (s: string) => s.trim().split('\n').pop() ?? '';
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

test(
  'train --repeats 2 over two ranks: one seed per rank, repeats.json as one process writes it',
  { skip, timeout: 300_000 },
  async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-runs-'));
    const one = join(tmp, 'one');
    const two = join(tmp, 'two');
    const ref = await cli(['train', ...SMALL, '--repeats', '2', '--out', one]);
    assert.equal(ref.code, 0, ref.stderr);
    const [r0, r1] = await ranks(2, ['train', ...SMALL, '--repeats', '2', '--out', two]);
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, '', 'rank 1 prints no result');
    assert.match(r0.stderr, /rank 0: training seed 0/);
    assert.match(r1.stderr, /rank 1: training seed 1/);
    assert.doesNotMatch(r0.stderr, /training seed 1/, 'each seed is trained by one rank');
    assert.doesNotMatch(r1.stderr, /training seed 0/, 'each seed is trained by one rank');
    for (const s of ['seed-0', 'seed-1']) {
      const result = readJson(join(two, s, 'result.json'));
      assert.equal(result.world_size ?? 1, 1, `${s} was trained alone`);
      const log = readFileSync(join(two, s, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n');
      assert.equal(
        log.filter((l) => JSON.parse(l).epoch !== undefined).length,
        1,
        `${s}: one epoch, written once`,
      );
      assert.ok(!existsSync(join(two, s, LOCK_FILE)), `${s}: its lock was released`);
    }
    const a = readJson(join(one, 'repeats.json'));
    const b = readJson(join(two, 'repeats.json'));
    assert.deepEqual(
      (b.runs as string[]).map((r) => basename(r)),
      ['seed-0', 'seed-1'],
    );
    const { runs: _a, ...restA } = a;
    const { runs: _b, ...restB } = b;
    assert.deepEqual(restB, restA, 'same seeds, same numerics: the same summary');
    const out = JSON.parse(lastLine(r0.stdout));
    const ref0 = JSON.parse(lastLine(ref.stdout));
    assert.equal(out.world_size, 2);
    assert.equal(out.parallel, 'runs');
    assert.deepEqual(out.repeats, ref0.repeats);
    assert.ok(out.repeats[0].test_accuracy !== undefined);
  },
);

test(
  'a 2-point sweep over two ranks: one point per rank, sweep.json as one process writes it',
  { skip, timeout: 300_000 },
  async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-runs-sweep-'));
    const one = join(tmp, 'one');
    const two = join(tmp, 'two');
    const args = (out: string) => [
      'sweep',
      ...SMALL.filter((a, i, l) => a !== '--T' && l[i - 1] !== '--T'),
      '--theta0',
      '0.5,1',
      '--out',
      out,
    ];
    const ref = await cli(args(one));
    assert.equal(ref.code, 0, ref.stderr);
    const [r0, r1] = await ranks(2, args(two));
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, '', 'rank 1 prints no result');
    assert.match(r0.stderr, /rank 0: point 1\/2/);
    assert.match(r1.stderr, /rank 1: point 2\/2/);
    const a = readJson(join(one, 'sweep.json'));
    const b = readJson(join(two, 'sweep.json'));
    assert.deepEqual(b, a, 'same points, same numerics: the same sweep.json');
    assert.equal(readFileSync(join(two, 'sweep.csv'), 'utf8'), readFileSync(join(one, 'sweep.csv'), 'utf8'));
    assert.ok((b.points as { status: string }[]).every((p) => p.status === 'done'));
    assert.deepEqual(JSON.parse(lastLine(r0.stdout)).points, JSON.parse(lastLine(ref.stdout)).points);
  },
);

test(
  '--parallel is checked: data with several seeds, runs with one, an unknown value',
  { timeout: 120_000 },
  async () => {
    for (const [extra, msg] of [
      [['--repeats', '2', '--parallel', 'data'], /--parallel data trains one run/],
      [['--parallel', 'runs'], /--parallel runs .* needs --repeats > 1/],
      [['--parallel', 'seeds'], /--parallel must be data or runs, got seeds/],
    ] as const) {
      const r = await cli(['train', '--epochs', '1', '--limit-train', '8', ...extra]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  },
);
