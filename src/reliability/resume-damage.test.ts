/**
 * `stcsnn train --resume` on a damaged run directory (issue 24, cases 1 and 2), with real
 * processes: a torn last line of `log.jsonl` is dropped with a notice and the run resumes from
 * its checkpoint; any other damaged line is one line naming the file and the line, exit 2; a
 * checkpoint whose run state is impossible (`epoch` -3, or past the run's epochs) is refused
 * naming the field, exit 2, before anything is trained or written.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../distributed/testing.js';
import { decodeSafetensors, encodeSafetensors } from '../interop/safetensors.js';
import { runFile } from '../run/layout.js';
import { TRAIN_META } from '../train/checkpoint.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-damage-'));
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

  it('a JSON line of log.jsonl that is not an epoch: exit 2 naming the line', async () => {
    const dir = copyOfRun('not-epoch');
    appendFileSync(runFile(dir, 'log'), '[1, 2]\n');
    const r = await cli(['train', '--resume', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(errorLines(r.stderr)[0], /log\.jsonl: line 3 is not an epoch's metrics/);
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
