/**
 * `stcsnn train --resume` on a damaged run directory (issue 24, cases 1 and 2), with real
 * processes: a torn last line of `log.jsonl` is dropped with a notice and the run resumes from
 * its checkpoint; any other damaged line is one line naming the file and the line, exit 2; a
 * checkpoint whose run state is impossible (`epoch` -3, or past the run's epochs) is refused
 * naming the field, exit 2, before anything is trained or written. An unreadable `config.json`
 * is `PATH: permission denied (EACCES)`, exit 2. A refused resume (issue 33, case 5) changes no
 * file of the run, even with `--epochs N` on a finished run; a log holding an epoch twice is
 * refused; control bytes of a log line never reach the terminal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../../lib/distributed/cli-process.test-support.js';
import { decodeSafetensors, encodeSafetensors } from '../../lib/interop/safetensors.js';
import { runFile } from '../rundir/layout.js';
import { TRAIN_META } from '../rundir/checkpoint.js';
import { runCli } from '../cli/cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-damage-'));
chmodSync(root, 0o755); // the unreadable-config case runs as another user when the tests run as root
after(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  ...['--limit-train', '32', '--limit-test', '16', '--width', '0.125', '--batch-size', '16'],
  ...['--T', '2', '--epochs', '2', '--threads', '1', '--backend', backend],
];
const good = join(root, 'good');

/** A copy of the trained run, unfinished again (as if killed after its last checkpoint). */
function copyOfRun(name: string): string {
  const dir = join(root, name);
  cpSync(good, dir, { recursive: true });
  rmSync(runFile(dir, 'result'));
  return dir;
}

/** Rewrites the run state in `dir`'s last checkpoint with `patch` applied. */
function editRunState(dir: string, patch: Record<string, unknown>): void {
  const file = runFile(dir, 'last');
  const bytes = readFileSync(file);
  const f = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  const state = { ...(JSON.parse(f.metadata[TRAIN_META.state]) as object), ...patch };
  writeFileSync(
    file,
    encodeSafetensors(f.tensors, { ...f.metadata, [TRAIN_META.state]: JSON.stringify(state) }),
  );
}

/** Every file of `dir` (its name and bytes, as base64). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );
}

/** The `stcsnn: error:` lines of a run's stderr. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));

describe('resume of a damaged run directory', { timeout: 600_000 }, () => {
  before(async () => {
    const r = await cli(['train', ...TINY, '--out', good]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a torn last line of log.jsonl is dropped with a notice; the run resumes from its checkpoint', async () => {
    const dir = copyOfRun('torn');
    const log = runFile(dir, 'log');
    const text = readFileSync(log, 'utf8');
    truncateSync(log, text.length - 20); // the second epoch's line, cut as a crash leaves it
    const r = await cli(['train', '--resume', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${log}: line 2 is incomplete \\(a torn write\\); dropped it`));
    assert.equal(readFileSync(log, 'utf8'), text.split('\n')[0] + '\n', 'the complete line stays');
    assert.ok(JSON.parse(readFileSync(runFile(dir, 'result'), 'utf8')), 'the run finished');
  });

  it('a line of log.jsonl that is not JSON: one line naming the file and the line, exit 2', async () => {
    const dir = copyOfRun('garbage');
    const log = runFile(dir, 'log');
    appendFileSync(log, 'this is not JSON\n');
    const before = readFileSync(log);
    const r = await cli(['train', '--resume', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `stcsnn: error: ${log}: line 3 is not valid JSON (${jsonError('this is not JSON')})`,
    ]);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    assert.deepEqual(readFileSync(log), before, 'the log is left as it was');
  });

  it('a refused resume changes no file: a finished run with a garbage first log line, --epochs 3 (issue 33.5)', async () => {
    const dir = join(root, 'refused-finished');
    cpSync(good, dir, { recursive: true }); // finished: result.json stays
    const log = runFile(dir, 'log');
    writeFileSync(log, readFileSync(log, 'utf8').replace(/^[^\n]*/, 'garbage'));
    const before = snapshot(dir);
    const r = await cli(['train', '--resume', dir, '--epochs', '3']);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `stcsnn: error: ${log}: line 1 is not valid JSON (${jsonError('garbage')})`,
    ]);
    assert.deepEqual(
      snapshot(dir),
      before,
      'config.json, result.json, the log and the checkpoints unchanged',
    );
  });

  it('log.jsonl holding an epoch twice is refused naming the lines, exit 2, nothing written (issue 33)', async () => {
    const dir = copyOfRun('twice');
    const log = runFile(dir, 'log');
    const lines = readFileSync(log, 'utf8').split('\n');
    writeFileSync(log, [lines[0], ...lines].join('\n')); // epochs 0, 0, 1
    const before = snapshot(dir);
    const r = await cli(['train', '--resume', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `stcsnn: error: ${log}: line 2 repeats epoch 0 (line 1): each epoch is logged once`,
    ]);
    assert.deepEqual(snapshot(dir), before);
  });

  it('control bytes of a log line are escaped in the error line (issue 33, minor)', async () => {
    const dir = copyOfRun('control');
    const log = runFile(dir, 'log');
    appendFileSync(log, '\x1b]0;pwned\x07\x1b[31m\n');
    const r = await cli(['train', '--resume', dir]);
    assert.equal(r.code, 2, r.stderr);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f]/, 'no control byte reaches the terminal');
    assert.match(errorLines(r.stderr)[0], /line 3 is not valid JSON .*\\x1b\]0;pwned\\x07/);
  });

  it('a JSON line of log.jsonl that is not an epoch: exit 2 naming the line', async () => {
    const dir = copyOfRun('not-epoch');
    appendFileSync(runFile(dir, 'log'), '[1, 2]\n');
    const r = await cli(['train', '--resume', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(errorLines(r.stderr)[0], /log\.jsonl: line 3 is not an epoch's metrics/);
  });

  it('an unreadable config.json: PATH: permission denied (EACCES), exit 2', () => {
    const dir = copyOfRun('unreadable');
    chmodSync(runFile(dir, 'config'), 0o000);
    // root reads any file: run as nobody then (the directory is theirs to write)
    const asRoot = process.getuid?.() === 0;
    if (asRoot) spawnSync('chown', ['-R', '65534:65534', dir]);
    const r = runCli(['train', '--resume', dir, '--backend', backend], asRoot ? { uid: 65534 } : {});
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `stcsnn: error: ${runFile(dir, 'config')}: permission denied (EACCES)\n`);
  });

  it('--resume DIR --lr X overrides the learning rate of the epochs it trains, recorded in log.jsonl', async () => {
    const dir = copyOfRun('lr');
    const config = readFileSync(runFile(dir, 'config'));
    const r = await cli(['train', '--resume', dir, '--lr', '0.001', '--epochs', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /stcsnn: --lr 0\.001 overrides the run's lr [\d.]+ for the epochs this resume trains/,
    );
    const lines = readFileSync(runFile(dir, 'log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((m) => m.lr_override),
      [undefined, undefined, 0.001],
    );
    assert.ok(lines[2].lr <= 0.001);
    const after = JSON.parse(readFileSync(runFile(dir, 'config'), 'utf8')) as { lr: number; epochs: number };
    assert.equal(after.lr, JSON.parse(config.toString()).lr, "config.json keeps the run's lr");
    const again = await cli(['train', '--resume', dir, '--epochs', '4']);
    assert.equal(again.code, 0, again.stderr);
  });

  for (const [patch, field] of [
    [{ epoch: -3 }, /training state \(metadata stcsnn\.run_state\): epoch: /],
    [
      { epoch: 7 },
      /training state \(metadata stcsnn\.run_state\): epoch 7 is past the run's last epoch \(its configuration has epochs 2, so at most 1\)/,
    ],
    [{ bestAccuracy: 3 }, /bestAccuracy: /],
    [{ worldSize: 0.5 }, /worldSize: /],
  ] as const) {
    it(`a checkpoint with run state ${JSON.stringify(patch)} is refused naming the field, exit 2`, async () => {
      const dir = copyOfRun(`state-${Object.keys(patch)[0]}-${Object.values(patch)[0]}`);
      editRunState(dir, patch);
      const log = readFileSync(runFile(dir, 'log'));
      const r = await cli(['train', '--resume', dir]);
      assert.equal(r.code, 2, r.stderr);
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], field);
      assert.ok(lines[0].includes(runFile(dir, 'last')), lines[0]);
      assert.deepEqual(readFileSync(runFile(dir, 'log')), log, 'nothing was trained');
    });
  }
});

/** What `JSON.parse` says about `text` (its wording differs between Node versions). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}
