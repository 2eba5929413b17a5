import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../lib/core/config.js';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import { configHash } from '../config/config-hash.js';
import { TRAIN_DEFAULTS } from '../config/config.js';
import { readRunConfig, storedConfigHash, writeRunConfig } from './config-file.js';
import { runFile, sweepFile } from './layout.js';
import { readEpochLog, readLog, writeLog, type EpochMetrics } from './log-file.js';
import { meanStdBest, readRepeats, writeRepeats } from './repeats-file.js';
import { readResult } from './result-file.js';
import { readSweep, sweepCsv, writeSweep, type SweepFile } from './sweep-file.js';

const root = mkdtempSync(join(tmpdir(), 'stcsnn-rundir-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `r${n++}`);
  mkdirSync(d);
  return d;
};

const epoch = (e: number, inputMax = 3): EpochMetrics => ({
  epoch: e,
  lr: 0.1,
  train_loss: 1,
  train_accuracy: 0.5,
  test_loss: 1.1,
  test_accuracy: 0.4,
  seconds: 2,
  data_seconds: 0.1,
  images_per_second: 100,
  train_loss_windows: [1.2, 0.8],
  stcb: [
    {
      layer: 'blocks.0.conv',
      samples: 256,
      S: 2,
      input_max: inputMax,
      input_p999: 1.5,
      saturated_share: 0.01,
      nonpositive_share: 0.5,
      fire_rate: 0.2,
      bn: { layer: 'stem_bn', gamma_abs_mean: 1, gamma_abs_max: 2 },
    },
  ],
});

test('log.jsonl: what is written reads back as written; a non-finite figure (null in JSON) as NaN', () => {
  const dir = fresh();
  const log = [epoch(0), epoch(1, NaN)];
  writeLog(dir, log);
  assert.deepEqual(readLog(dir), log);
  assert.deepEqual(
    readEpochLog(dir).map((m) => m.stcb?.[0].input_max),
    [3, NaN],
  );
  assert.deepEqual(readLog(fresh()), [], 'no log: no epochs');
});

test('log.jsonl: a torn last line is dropped with a notice; a line that is not an epoch is refused naming it', () => {
  const dir = fresh();
  writeFileSync(runFile(dir, 'log'), `${JSON.stringify(epoch(0))}\n{"epoch": 1, "lr`);
  const notices: string[] = [];
  assert.equal(readLog(dir, (l) => notices.push(l)).length, 1);
  assert.match(notices[0], /line 2 is incomplete \(a torn write\)/);
  writeFileSync(runFile(dir, 'log'), `${JSON.stringify(epoch(0))}\n{"epoch": 1}\n`);
  assert.throws(
    () => readLog(dir),
    (e) => e instanceof CheckpointError && /line 2 is not an epoch's metrics .*lr/.test(e.message),
  );
  assert.throws(
    () => readEpochLog(dir),
    (e) => e instanceof ConfigError && /line 2: lr/.test(e.message),
  );
});

test('config.json: written with its hash, read back validated', () => {
  const dir = fresh();
  writeRunConfig(dir, TRAIN_DEFAULTS);
  assert.deepEqual(readRunConfig(dir), TRAIN_DEFAULTS);
  assert.equal(storedConfigHash(dir), configHash(TRAIN_DEFAULTS));
});

test('result.json and repeats.json: lenient about what older runs lack, strict about a wrong field', () => {
  const dir = fresh();
  assert.equal(readResult(dir), null, 'unfinished');
  writeFileSync(runFile(dir, 'result'), JSON.stringify({ test_accuracy: 0.9, extra: 1 }));
  assert.equal(readResult(dir)?.test_accuracy, 0.9);
  writeFileSync(runFile(dir, 'result'), JSON.stringify({ test_accuracy: '0.9' }));
  assert.throws(() => readResult(dir), /result\.json: test_accuracy: /);
  const s = meanStdBest([0.5, 0.7]);
  assert.ok(Math.abs(s.stddev - Math.SQRT2 / 10) < 1e-12);
  writeRepeats(dir, { config: TRAIN_DEFAULTS, ...s, runs: ['a', 'b'] });
  assert.deepEqual(readRepeats(dir), { config: TRAIN_DEFAULTS, ...s, runs: ['a', 'b'] });
});

test('sweep.json: written with its CSV, read back; another file refused naming the field', () => {
  const dir = fresh();
  const sweep: SweepFile = {
    version: 1,
    base: { arch: 'vgg11', dataset: 'fashion-mnist', width: 0.25 },
    grid: { theta0: [0.8], T: [4] },
    energy: { e_mac_pj: 3.2, e_ac_pj: 0.1, bn_macs_per_element: 2 },
    points: [
      {
        id: 'T4_theta0-0.8',
        theta0: 0.8,
        T: 4,
        dir: 'points/T4_theta0-0.8',
        status: 'pending',
        result: null,
      },
    ],
  };
  writeSweep(dir, sweep);
  assert.deepEqual(readSweep(dir), sweep);
  assert.match(sweepCsv(sweep), /^id,theta0,T,status,/);
  writeFileSync(sweepFile(dir, 'sweep'), JSON.stringify({ ...sweep, version: 2 }));
  assert.throws(() => readSweep(dir), /is not a version-1 sweep file \(version: /);
});
