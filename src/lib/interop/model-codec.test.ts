import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stcConfig } from '../core/config.js';
import { ARCHS, type PlanConfig } from '../nn/arch-config.js';
import { planNetwork, planParameters } from '../nn/plan.js';
import {
  CheckpointError,
  META_KEYS,
  MODEL_FORMAT,
  MODEL_LIMITS,
  modelInfoFromMetadata,
  modelSizeOverLimits,
} from './model-codec.js';

test('the classifier limit is the weight count of the plan classifier', () => {
  for (const arch of ARCHS) {
    const c: PlanConfig = { arch, width: 4, inputShape: [64, 48, 3], classes: 100 };
    const params = planParameters(planNetwork(c));
    const head = params[params.length - 2]; // the classifier's weight, then its bias
    const weights = head.shape[0] * head.shape[1];
    assert.equal(modelSizeOverLimits(c), null);
    const classes = Math.floor(MODEL_LIMITS.maxClassifierWeights / (weights / 100)) + 1;
    assert.match(
      modelSizeOverLimits({ ...c, classes }) ?? '',
      new RegExp(
        `^a classifier of ${weights / 100}x${classes} weights exceeds ${MODEL_LIMITS.maxClassifierWeights}$`,
      ),
      arch,
    );
  }
});

test('the input limits come first, on the numbers alone', () => {
  const c: PlanConfig = { arch: 'vgg11', width: 0.25, inputShape: [8, 8, 1], classes: 10 };
  assert.match(
    modelSizeOverLimits({ ...c, inputShape: [2 ** 31, 8, 1] }) ?? '',
    /^input 2147483648x8 exceeds/,
  );
  assert.match(
    modelSizeOverLimits({ ...c, inputShape: [8, 8, 2048] }) ?? '',
    /^2048 input channels exceed 1024$/,
  );
  assert.match(modelSizeOverLimits({ ...c, classes: 2 ** 31 }) ?? '', /^2147483648 classes exceed 100000$/);
});

test('a model description: absent path, gradient and threshold mode take the values of older files', () => {
  const meta = {
    [META_KEYS.format]: MODEL_FORMAT,
    [META_KEYS.config]: JSON.stringify({
      arch: 'vgg11',
      mode: 'stc',
      width: 0.25,
      inputShape: [28, 28, 1],
      classes: 10,
      stc: { T: 8, theta0: 0.8, tau: 2, schedule: 'exp', fire: '>=' },
    }),
  };
  const { config } = modelInfoFromMetadata(meta, 'old.safetensors');
  assert.equal(config.path, 'fused');
  assert.deepEqual(config.stc, stcConfig({ T: 8, theta0: 0.8, tau: 2, gradient: 'relu', learnTheta: 'off' }));
  assert.throws(
    () =>
      modelInfoFromMetadata(
        { ...meta, [META_KEYS.config]: meta[META_KEYS.config].replace('[28,28,1]', '"28x28"') },
        'bad.safetensors',
      ),
    (e: unknown) =>
      e instanceof CheckpointError &&
      /^bad\.safetensors: metadata stcsnn\.config: input shape must be/.test(e.message),
  );
});
