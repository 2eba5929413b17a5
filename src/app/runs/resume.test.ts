import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configHash } from '../config/config-hash.js';
import { configChanges, RESUME_MAY_CHANGE, TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import { learningRate } from '../../lib/train/lr-schedule.js';
import { runStatus } from './resume.js';

describe('resume: what may change', () => {
  it('the hash ignores exactly the resumable fields, and changes name every other field', () => {
    const base: TrainConfig = TRAIN_DEFAULTS;
    const resumable = { ...base, epochs: 99, timeBudget: 5, dataDir: '/elsewhere' };
    assert.deepEqual([...RESUME_MAY_CHANGE].sort(), ['dataDir', 'epochs', 'timeBudget']);
    assert.equal(configHash(resumable), configHash(base));
    assert.deepEqual(configChanges(base, resumable), []);
    const edited: TrainConfig = { ...base, mode: 'ann', limitTrain: 64, stc: { ...base.stc, T: 4 } };
    assert.notEqual(configHash(edited), configHash(base));
    assert.deepEqual(configChanges(base, edited), [
      'limitTrain null -> 64',
      'mode "stc" -> "ann"',
      'stc.T 8 -> 4',
    ]);
  });

  it('cosine extended to N epochs continues from the resumed step over the new total', () => {
    const cos = { name: 'cosine' as const, lr: 0.1, stepEvery: 20, stepGamma: 0.5 };
    // a 2-epoch run ends near 0; extended to 4 epochs, epoch 2 starts at the middle of the new cosine
    assert.ok(learningRate(cos, 1, 9, 10, 2) < 0.001);
    assert.ok(Math.abs(learningRate(cos, 2, 0, 10, 4) - 0.05) < 1e-12);
    const step = { ...cos, name: 'step' as const, stepEvery: 1 };
    assert.equal(learningRate(step, 2, 0, 10, 2), learningRate(step, 2, 0, 10, 4));
  });
});

describe('runStatus: the one decision of a run directory state', () => {
  it('new, interrupted, stopped (by the time budget: resumable) and finished', () => {
    assert.equal(runStatus(0, 2, null), 'new');
    assert.equal(runStatus(1, 2, null), 'interrupted');
    assert.equal(runStatus(1, 2, { stopped_by: 'time-budget' }), 'stopped');
    // a run too old to record why it stopped early is stopped too (what the epochs say)
    assert.equal(runStatus(1, 2, {}), 'stopped');
    assert.equal(runStatus(2, 2, { stopped_by: null }), 'finished');
    assert.equal(runStatus(2, 2, {}), 'finished');
    // an early stop by a hook is the caller's decision that the run is done
    assert.equal(runStatus(1, 2, { stopped_by: 'early-stop' }), 'finished');
  });
});
