/**
 * The runaway warning of the CLI: it names the layer, the figure and the flags the run does not
 * use yet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findRunaway, type StcbFigures } from '../../lib/train/monitor.js';
import { runawayWarning } from './runaway-warning.js';

const fig = (layer: string, p999: number, S = 2): StcbFigures => ({
  layer,
  samples: 10,
  S,
  input_max: p999 * 1.5,
  input_p999: p999,
  saturated_share: 0.1,
  nonpositive_share: 0.8,
  fire_rate: 0.1,
  bn: { layer: `${layer}.bn`, gamma_abs_mean: 3, gamma_abs_max: 40 },
});

test('the warning names the layer, the figure and the flags the run does not use yet', () => {
  const r = findRunaway([fig('blocks.0.conv', 3e6)])!;
  const relu = runawayWarning(r, 0, { gradient: 'relu', learnTheta: 'off' });
  assert.match(relu, /blocks\.0\.conv \(epoch 1\)/);
  assert.match(relu, /99\.9th percentile 3\.00e\+6 = 1\.50e\+6 x S/);
  assert.match(relu, /blocks\.0\.conv\.bn \|gamma\| mean 3\.00, max 40\.0/);
  assert.match(relu, /try --gradient clipped .*, alone or with --learn-theta layer\|channel/);
  const reluLearned = runawayWarning(r, 0, { gradient: 'relu', learnTheta: 'layer' });
  assert.match(reluLearned, /try --gradient clipped/);
  assert.doesNotMatch(reluLearned, /--learn-theta/);
  const clipped = runawayWarning(r, 2, { gradient: 'clipped', learnTheta: 'off' });
  assert.doesNotMatch(clipped, /--gradient clipped/);
  assert.match(clipped, /try --learn-theta layer\|channel/);
  assert.match(clipped, /\(epoch 3\)/);
  const both = runawayWarning(r, 0, { gradient: 'clipped', learnTheta: 'channel' });
  assert.doesNotMatch(both, /try --gradient|try --learn-theta/);
  assert.doesNotMatch(runawayWarning(r, undefined, { gradient: 'relu', learnTheta: 'off' }), /epoch/);
  assert.match(both, /--lr/);
});
