import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_STC, stcConfig } from '../core/config.js';
import {
  ARCH_DEFAULTS,
  archConfigSchema,
  checkArchConfig,
  checkPlanConfig,
  parseArchConfig,
  type ArchConfig,
} from './arch-config.js';

const ok: ArchConfig = {
  arch: 'resnet18',
  mode: 'ann',
  width: 0.5,
  inputShape: [32, 32, 3],
  classes: 10,
  stc: stcConfig({ T: 4, gradient: 'clipped', learnTheta: 'layer' }),
  path: 'spike-train',
};

describe('the architecture configuration schema', () => {
  it('parses untrusted values into a complete configuration (the STC block by stcConfig)', () => {
    const c = parseArchConfig({
      ...ARCH_DEFAULTS,
      inputShape: [28, 28, 1],
      classes: 10,
      stc: { T: 4 },
      extra: 1,
    });
    assert.deepEqual(c, {
      arch: 'vgg11',
      mode: 'stc',
      width: 0.25,
      inputShape: [28, 28, 1],
      classes: 10,
      stc: { ...DEFAULT_STC, T: 4 },
      path: 'fused',
    });
    assert.deepEqual(Object.keys(c), Object.keys(archConfigSchema.shape));
    assert.deepEqual(parseArchConfig(ok), ok);
  });

  it('checkArchConfig returns the configuration itself', () => {
    assert.equal(checkArchConfig(ok), ok);
  });

  it('refuses each bad field with its one message and names it', () => {
    const cases: [Record<string, unknown>, RegExp, string | undefined][] = [
      [{ arch: 'lenet' }, /^arch must be one of vgg11, vgg16, resnet18; got lenet$/, 'arch'],
      [{ mode: 'snn' }, /^mode must be stc or ann; got snn$/, 'mode'],
      [{ width: 0 }, /^width must be in \(0, 4\], got 0$/, 'width'],
      [{ width: Number.NaN }, /^width must be in \(0, 4\], got NaN$/, 'width'],
      [{ path: 'x' }, /^path must be fused or spike-train; got x$/, 'path'],
      [
        { inputShape: [3, 32, 3] },
        /^input shape must be \[H>=4, W>=4, C>=1\] integers, got \[3,32,3\]$/,
        'inputShape',
      ],
      [{ inputShape: [32, 32] }, /^input shape must be/, 'inputShape'],
      [{ classes: 1.5 }, /^classes must be an integer >= 2, got 1.5$/, 'classes'],
      [{ stc: { T: 0 } }, /^T must be an integer in 1\.\.64, got 0$/, 'T'],
      [{ stc: { learnTheta: 'layer' } }, /needs the clipped gradient mask/, 'learnTheta'],
      // several wrong fields: the first in the checks' order
      [{ classes: 1, width: 9, arch: 'x' }, /^arch must be/, 'arch'],
    ];
    for (const [over, re, param] of cases) {
      assert.throws(
        () => parseArchConfig({ ...ok, ...over }),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && e.param === param,
        JSON.stringify(over),
      );
    }
    assert.throws(() => parseArchConfig(null), ConfigError);
    assert.throws(() => parseArchConfig([1]), ConfigError);
  });

  it('checkPlanConfig reads the structural part alone', () => {
    checkPlanConfig({ arch: 'vgg16', width: 4, inputShape: [4, 4, 1], classes: 2 });
    assert.throws(
      () => checkPlanConfig({ arch: 'vgg16', width: 4.5, inputShape: [4, 4, 1], classes: 2 }),
      /width must be in \(0, 4\], got 4.5/,
    );
  });
});
