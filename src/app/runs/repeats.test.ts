import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import { prepareRunDir } from '../rundir/dirs.js';
import { runFile, seedDirName } from '../rundir/layout.js';
import { readResult } from '../rundir/result-file.js';
import { runRepeats } from './repeats.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const root = mkdtempSync(join(tmpdir(), 'stcsnn-repeats-'));
after(() => rmSync(root, { recursive: true, force: true }));

before(() => initBackend(backend));

/** Two epochs of a tiny network; every seed stops by the time budget after its first epoch. */
const stopsAfterOne: TrainConfig = {
  ...TRAIN_DEFAULTS,
  seed: 5,
  epochs: 2,
  timeBudget: 0.001,
  ...{ width: 0.125, batchSize: 16, limitTrain: 32, limitTest: 16, stc: stcConfig({ T: 2 }) },
};

describe('runRepeats with keepFinished (stcsnn reproduce)', () => {
  test('a seed stopped by its time budget is kept as that budget\'s result (a rerun trains nothing); an interrupted one continues', async () => {
    const dir = join(root, 'group');
    prepareRunDir(dir, false);
    const events: string[] = [];
    const opts = {
      runDir: dir,
      backend,
      keepFinished: true,
      onSeed: (seed: number, what: string) => events.push(`${what}:${seed}`),
    };
    // every invocation trains at least one epoch, then the tiny budget stops it
    const first = await runRepeats(stopsAfterOne, 2, opts);
    assert.deepEqual(
      first.runs.map((r) => [r.epochs, r.stopped_by]),
      [
        [1, 'time-budget'],
        [1, 'time-budget'],
      ],
    );
    assert.deepEqual(events, ['start:5', 'done:5', 'start:6', 'done:6']);
    // rerun of the same command: both seeds are the budget's results, read, not trained further
    events.length = 0;
    const second = await runRepeats(stopsAfterOne, 2, opts);
    assert.deepEqual(events, ['skip:5', 'skip:6']);
    assert.deepEqual(
      second.runs.map((r) => [r.epochs, r.stopped_by]),
      [
        [1, 'time-budget'],
        [1, 'time-budget'],
      ],
    );
    // seed 6 interrupted (its checkpoint, no result): continued from its checkpoint, to its last epoch
    rmSync(runFile(join(dir, seedDirName(6)), 'result'));
    events.length = 0;
    const third = await runRepeats(stopsAfterOne, 2, opts);
    assert.deepEqual(events, ['skip:5', 'resume:6', 'done:6']);
    assert.deepEqual(
      third.runs.map((r) => [r.epochs, r.stopped_by]),
      [
        [1, 'time-budget'],
        [2, null],
      ],
    );
    assert.equal(readResult(join(dir, seedDirName(6)))?.epochs, 2);
  });
});
