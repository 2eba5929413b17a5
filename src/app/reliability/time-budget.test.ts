/**
 * A run the time budget stops before its epochs (issue 33): `stcsnn train --epochs 2
 * --time-budget 0.001` stopped after epoch 1 without a word, and `--resume` then called it
 * "finished (1 epochs)" while `config.json` asked for 2. Now the CLI says so in one line with
 * the command that continues it, `result.json` and `--json` record `stopped_by` and the epochs
 * done and asked, and a resume continues it (`runStatus`, `src/app/runs/resume.ts`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readResult } from '../rundir/result-file.js';
import { runFile } from '../rundir/layout.js';
import { runCli } from '../cli/cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-budget-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  '--limit-train',
  '32',
  '--limit-test',
  '16',
  '--width',
  '0.125',
  '--T',
  '2',
  '--batch-size',
  '16',
];

const cli = (args: string[]) => runCli([...args, '--backend', backend], { cwd: root });

/** The stderr lines of a stop by the time budget. */
const stopLines = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => l.startsWith('stcsnn train: stopped by --time-budget'));

describe('a run stopped by --time-budget says so, records it, and resumes (issue 33)', () => {
  it('one line with the command that continues it; result.json records the stop', () => {
    const dir = join(root, 'stop');
    const r = cli(['train', ...TINY, '--epochs', '2', '--time-budget', '0.001', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = stopLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      new RegExp(
        `^stcsnn train: stopped by --time-budget 0\\.001 after epoch 1 of 2 \\(\\d+\\.\\d s of training\\); continue with: stcsnn train --resume ${dir} --time-budget \\d+$`,
      ),
    );
    assert.equal(r.stderr.trimEnd().split('\n').at(-1), lines[0], 'the last line');
    const result = readResult(dir);
    assert.equal(result?.epochs, 1);
    assert.equal(result?.epochs_asked, 2);
    assert.equal(result?.stopped_by, 'time-budget');
    assert.equal((JSON.parse(readFileSync(runFile(dir, 'config'), 'utf8')) as { epochs: number }).epochs, 2);

    // --resume continues it (it was "finished (1 epochs)"); under the same budget it trains one
    // more epoch, which is the last one here
    const again = cli(['train', '--resume', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^stcsnn train: continuing the run stopped by --time-budget after epoch 1 of 2$/m,
    );
    assert.deepEqual(stopLines(again.stderr), []);
    const done = readResult(dir);
    assert.equal(done?.epochs, 2);
    assert.equal(done?.epochs_asked, 2);
    assert.equal(done?.stopped_by, null);
    // now it is finished, and a resume says so truthfully
    const third = cli(['train', '--resume', dir]);
    assert.equal(third.code, 2);
    assert.match(third.stderr, /is finished \(2 epochs, result\.json\); to train it further, extend it/);
  });

  it('--json records stopped_by and the epochs done and asked; the suggested command continues the run', () => {
    const dir = join(root, 'json');
    const r = cli(['train', ...TINY, '--epochs', '4', '--time-budget', '0.001', '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { epochs: number; epochs_asked: number; stopped_by: string | null };
    assert.deepEqual([out.epochs, out.epochs_asked, out.stopped_by], [1, 4, 'time-budget']);

    // the text mode's line, after one more epoch under the old budget
    const more = cli(['train', '--resume', dir]);
    assert.equal(more.code, 0, more.stderr);
    const [line] = stopLines(more.stderr);
    assert.match(line ?? '', /after epoch 2 of 4 /, more.stderr);
    // the command it gives, as a shell would split it (the directory needs no quotes here)
    const command = /continue with: stcsnn (.*)$/.exec(line)![1].split(' ');
    const cont = cli(command);
    assert.equal(cont.code, 0, cont.stderr);
    const result = readResult(dir);
    assert.ok(result !== null && (result.epochs ?? 0) > 2, 'the raised budget trains more than one epoch');
    // whether it reached epoch 4 depends on this machine's pace; either way the record is true
    if (result.epochs === 4) assert.equal(result.stopped_by, null);
    else assert.equal(result.stopped_by, 'time-budget');
  });

  it('a run that trains every epoch records stopped_by null', () => {
    const dir = join(root, 'full');
    const r = cli(['train', ...TINY, '--epochs', '1', '--time-budget', '0.001', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(stopLines(r.stderr), []);
    const result = readResult(dir);
    assert.deepEqual([result?.epochs, result?.epochs_asked, result?.stopped_by], [1, 1, null]);
  });
});
