import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LayerInfo } from '../../lib/nn/models.js';
import { computeEnergy } from '../../lib/analysis/energy.js';
import { LOCK_FILE, runFile } from '../rundir/layout.js';
import { readSweep, sweepCsv } from '../rundir/sweep-file.js';
import {
  baseDifference,
  baseOf,
  checkGrid,
  gridPoints,
  runSweep,
  type SweepOptions,
  type TrainPoint,
} from './sweep.js';
import { fixtureConfig, fixtureStats, writeFixtureRun } from '../analysis/fixture-runs.test-support.js';

// a small layer list: stem conv, one STCB, a head
const LAYERS: LayerInfo[] = [
  {
    name: 'stem',
    kind: 'conv',
    inShape: [8, 8, 1],
    outShape: [8, 8, 4],
    conv: { cin: 1, cout: 4, kernel: 3, stride: 1, pad: 1 },
  },
  {
    name: 'blocks.0.conv',
    kind: 'stcb-conv',
    inShape: [8, 8, 4],
    outShape: [8, 8, 4],
    conv: { cin: 4, cout: 4, kernel: 3, stride: 1, pad: 1 },
  },
  { name: 'classifier', kind: 'linear', inShape: [256], outShape: [10] },
];

const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-sweep-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A fake trainer: writes a finished fixture run whose accuracy grows with T and theta0. */
function fakeTrainer(calls: string[], failOn?: string): TrainPoint {
  return async (config, runDir, p) => {
    calls.push(p.id);
    const stc = config.stc as { T: number; theta0: number };
    if (p.id === failOn) {
      // an interrupted run: config and a partial log, no result
      writeFixtureRun(runDir, { T: stc.T, theta0: stc.theta0, accuracy: null });
      throw new Error('interrupted');
    }
    const r = writeFixtureRun(runDir, {
      T: stc.T,
      theta0: stc.theta0,
      accuracy: 0.5 + 0.01 * stc.T + 0.001 * stc.theta0,
      layers: LAYERS,
      fireRate: 0.1,
    });
    return r as Awaited<ReturnType<TrainPoint>>;
  };
}

function options(
  dir: string,
  trainPoint: TrainPoint,
  grid = { theta0: [0.4, 0.8], T: [2, 4] },
): SweepOptions {
  return {
    dir,
    config: fixtureConfig({}) as SweepOptions['config'],
    grid,
    energyConstants: { e_mac_pj: 3.2, e_ac_pj: 0.1, bn_macs_per_element: 2 },
    trainPoint,
    energyOf: (config, stats) =>
      computeEnergy(
        LAYERS,
        new Map(stats.map((s) => [s.layer, s.spikesPerNeuron])),
        (config.stc as { T: number }).T,
      ),
  };
}

describe('sweep grid', () => {
  it('rejects empty lists and bad values, drops duplicates', () => {
    assert.throws(() => checkGrid({ theta0: [], T: [8] }), /theta0 list is empty/);
    assert.throws(() => checkGrid({ theta0: [0.8], T: [] }), /T list is empty/);
    assert.throws(() => checkGrid({ theta0: [0.8], T: [2.5] }), /T values must be integers/);
    assert.throws(() => checkGrid({ theta0: [0], T: [8] }), /theta0 values must be > 0/);
    assert.deepEqual(checkGrid({ theta0: [0.8, 0.8], T: [4, 2, 4] }), { theta0: [0.8], T: [4, 2] });
    assert.deepEqual(
      gridPoints({ theta0: [0.4, 0.8], T: [2] }).map((p) => p.id),
      ['T2_theta0-0.4', 'T2_theta0-0.8'],
    );
  });

  it('the base identity ignores T and theta0 but nothing else', () => {
    const a = baseOf(fixtureConfig({ T: 2, theta0: 0.4 }));
    assert.equal(baseDifference(a, baseOf(fixtureConfig({ T: 16, theta0: 8 }))), null);
    assert.match(baseDifference(a, baseOf(fixtureConfig({ extra: { lr: 0.05 } })))!, /^lr: 0\.1 vs 0\.05$/);
  });
});

describe('runSweep', () => {
  it('trains every point once, writes sweep.json and sweep.csv with accuracy, fire rates, spikes and energy', async () => {
    const dir = join(tmp, 'full');
    const calls: string[] = [];
    const s = await runSweep(options(dir, fakeTrainer(calls)));
    assert.deepEqual(calls, ['T2_theta0-0.4', 'T4_theta0-0.4', 'T2_theta0-0.8', 'T4_theta0-0.8']);
    assert.ok(s.points.every((p) => p.status === 'done'));
    const p = readSweep(dir).points.find((q) => q.id === 'T4_theta0-0.8')!;
    assert.ok(Math.abs(p.result!.test_accuracy - (0.5 + 0.04 + 0.0008)) < 1e-12);
    const stats = fixtureStats(LAYERS, 4, 0.1);
    assert.equal(p.result!.layers[0].fire_rate, stats[0].fireRate);
    assert.equal(p.result!.spikes_per_image, stats[0].spikes / stats[0].samples);
    // energy: 3x3x4x4 on 8x8 = 9216 MACs -> ACs = 9216 * zeta (0.4)
    assert.ok(Math.abs(p.result!.energy!.snn_acs - 9216 * 0.4) < 1e-9);
    const csv = readFileSync(join(dir, 'sweep.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0], /^id,theta0,T,status,test_accuracy,.*,fire_rate:blocks\.0\.conv$/);
    assert.equal(csv[0].split(',').length, csv[4].split(',').length);
    assert.equal(sweepCsv(s), readFileSync(join(dir, 'sweep.csv'), 'utf8'));
  });

  it('resumes: finished points are not rerun, an interrupted point restarts from scratch', async () => {
    const dir = join(tmp, 'resume');
    const first: string[] = [];
    await assert.rejects(runSweep(options(dir, fakeTrainer(first, 'T4_theta0-0.4'))), /interrupted/);
    assert.deepEqual(first, ['T2_theta0-0.4', 'T4_theta0-0.4']);
    const mid = readSweep(dir);
    assert.deepEqual(
      mid.points.map((p) => p.status),
      ['done', 'pending', 'pending', 'pending'],
    );
    // the interrupted point left a partial run directory; mark it so we can see it is removed
    const stale = join(dir, 'points', 'T4_theta0-0.4', 'stale-marker');
    writeFileSync(stale, 'x');
    const second: string[] = [];
    const events: string[] = [];
    const o = options(dir, fakeTrainer(second));
    const s = await runSweep({ ...o, onEvent: (e) => events.push(`${e.kind}:${e.id}`) });
    assert.deepEqual(second, ['T4_theta0-0.4', 'T2_theta0-0.8', 'T4_theta0-0.8']);
    assert.ok(events.includes('skip:T2_theta0-0.4'));
    assert.ok(events.includes('restart:T4_theta0-0.4'));
    assert.equal(existsSync(stale), false);
    assert.ok(s.points.every((p) => p.status === 'done'));
    // a third run trains nothing
    const third: string[] = [];
    await runSweep(options(dir, fakeTrainer(third)));
    assert.deepEqual(third, []);
  });

  it('a diverged point is recorded as failed and the sweep goes on; a rerun retries it', async () => {
    const dir = join(tmp, 'diverged');
    const calls: string[] = [];
    const inner = fakeTrainer(calls);
    const s = await runSweep(
      options(
        dir,
        async (config, runDir, p) => {
          if (p.id === 'T2_theta0-0.4') {
            calls.push(p.id);
            const e = new Error('loss is NaN at step 3');
            e.name = 'NumericalError';
            throw e;
          }
          return inner(config, runDir, p);
        },
        { theta0: [0.4, 0.8], T: [2] },
      ),
    );
    assert.deepEqual(calls, ['T2_theta0-0.4', 'T2_theta0-0.8']);
    assert.deepEqual(
      s.points.map((p) => [p.id, p.status, p.error]),
      [
        ['T2_theta0-0.4', 'failed', 'loss is NaN at step 3'],
        ['T2_theta0-0.8', 'done', undefined],
      ],
    );
    assert.match(readFileSync(join(dir, 'sweep.csv'), 'utf8'), /T2_theta0-0\.4,0\.4,2,failed,/);
    const again: string[] = [];
    await runSweep(options(dir, fakeTrainer(again), { theta0: [0.4, 0.8], T: [2] }));
    assert.deepEqual(again, ['T2_theta0-0.4']);
  });

  it('takes over a point that finished after the last sweep.json write', async () => {
    const dir = join(tmp, 'late');
    await runSweep(options(dir, fakeTrainer([]), { theta0: [0.8], T: [2] }));
    const late = join(dir, 'points', 'T4_theta0-0.8');
    writeFixtureRun(late, {
      T: 4,
      theta0: 0.8,
      accuracy: 0.7,
      layers: LAYERS,
    });
    // config.json as the trainer writes it: the configuration, its hash and the provenance
    const cfg = JSON.parse(readFileSync(runFile(late, 'config'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      runFile(late, 'config'),
      JSON.stringify({ ...cfg, config_hash: 'sha256:0', provenance: { code: { commit: 'x' } } }),
    );
    const calls: string[] = [];
    const s = await runSweep(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2, 4] }));
    assert.deepEqual(calls, []);
    assert.equal(s.points[1].result!.test_accuracy, 0.7);
  });

  it('refuses to run while another live process holds the lock; takes over a stale lock', async () => {
    const dir = join(tmp, 'locked');
    mkdirSync(dir, { recursive: true });
    // the parent of this test process is alive and is not us
    const holder = (pid: number) =>
      JSON.stringify({ pid, host: hostname(), command: 'stcsnn sweep', since: '2024-01-01T00:00:00Z' });
    writeFileSync(join(dir, LOCK_FILE), holder(process.ppid));
    const calls: string[] = [];
    await assert.rejects(
      runSweep(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2] })),
      new RegExp(`is being written by process ${process.ppid} on .* \\(stcsnn sweep, since`),
    );
    assert.deepEqual(calls, []);
    writeFileSync(join(dir, LOCK_FILE), holder(999999999)); // no such process
    await runSweep(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2] }));
    assert.deepEqual(calls, ['T2_theta0-0.8']);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('resumes a sweep file written before a configuration field existed (it meant the default)', async () => {
    const dir = join(tmp, 'older');
    const calls: string[] = [];
    // the method of the runs written before stc.gradient and stc.learnTheta existed
    const paper = (o: SweepOptions): SweepOptions => ({
      ...o,
      config: { ...o.config, stc: { ...o.config.stc, ...{ gradient: 'relu', learnTheta: 'off' } } },
    });
    await runSweep(paper(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2] })));
    const file = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as {
      base: { stc: Record<string, unknown> };
    };
    assert.equal(file.base.stc.gradient, 'relu');
    delete file.base.stc.gradient; // as an earlier version wrote it
    delete file.base.stc.learnTheta;
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(file));
    await runSweep(paper(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2, 4] })));
    assert.deepEqual(
      calls,
      ['T2_theta0-0.8', 'T4_theta0-0.8'],
      'the finished point is kept, the new one trained',
    );
    // today's default method is not what that file meant
    await assert.rejects(
      runSweep(options(dir, fakeTrainer(calls), { theta0: [0.8], T: [2] })),
      /different sweep configuration \(stc\.gradient: "relu" vs "clipped"\)/,
    );
  });

  it('refuses a directory written by a different configuration, naming the difference', async () => {
    const dir = join(tmp, 'other');
    await runSweep(options(dir, fakeTrainer([]), { theta0: [0.8], T: [2] }));
    const o = options(dir, fakeTrainer([]), { theta0: [0.8], T: [2] });
    const calls: string[] = [];
    await assert.rejects(
      runSweep({ ...o, config: { ...o.config, width: 0.5 }, trainPoint: fakeTrainer(calls) }),
      /was written by a different sweep configuration \(width: 0\.125 vs 0\.5\)/,
    );
    assert.deepEqual(calls, []);
  });
});
