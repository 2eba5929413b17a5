/** The analysis commands end to end: `stcsnn energy`, `sweep` and `report` (bad input included). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import type { LayerInfo } from '../../lib/nn/models.js';
import { computeEnergy } from '../../lib/analysis/energy.js';
import { runSweep } from '../runs/sweep.js';
import { layersFor } from './network.js';
import { fixtureConfig, writeFixtureRun } from './fixture-runs.test-support.js';
import { TRAIN_DEFAULTS } from '../config/config.js';
import { TINY_RUN, runCli } from '../cli/cli-run.test-support.js';

const BACKEND = process.env.STCSNN_TEST_BACKEND ?? 'wasm';

const run = (...args: string[]) => runCli(args, { timeout: 300_000 });

/** The error line of a bad-input run: exit 2, one `stcsnn: error:` line. */
function userError(r: ReturnType<typeof run>): string {
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
  assert.equal(errors.length, 1, r.stderr);
  return errors[0];
}

const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-cli-analysis-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let layers: LayerInfo[] = [];
before(async () => {
  await initBackend(BACKEND as BackendRequest);
  layers = layersFor({ arch: 'vgg11', dataset: 'fashion-mnist-mini', width: 0.125, T: 8 });
});

interface EnergyOut {
  T: number;
  width_source: string;
  source: { fire_rate?: number; checkpoint?: string };
  layers: {
    name: string;
    kind: string;
    macs: number;
    acs: number;
    fire_rate: number | null;
    energy_pj: number;
  }[];
  total: {
    ann_macs: number;
    snn_acs: number;
    snn_macs: number;
    ann_energy_pj: number;
    snn_energy_pj: number;
    ratio: number;
  };
}

describe('stcsnn energy', () => {
  it('--fire-rate --json: VGG11 on CIFAR-10 counts its 152.8M conv MACs and says the rate is assumed', () => {
    const r = run(
      'energy',
      '--arch',
      'vgg11',
      '--dataset',
      'cifar10',
      '--T',
      '8',
      '--width',
      '1',
      '--fire-rate',
      '0.1',
      '--json',
      '--backend',
      BACKEND,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as EnergyOut;
    assert.deepEqual(out.source, { fire_rate: 0.1 });
    assert.equal(out.width_source, 'flag');
    const convs = out.layers.filter((l) => l.kind === 'conv' || l.kind === 'stcb-conv');
    assert.equal(
      convs.reduce((a, l) => a + l.macs, 0),
      152_764_416,
    );
    for (const l of out.layers.filter((x) => x.kind === 'stcb-conv')) {
      assert.equal(l.fire_rate, 0.1);
      assert.ok(Math.abs(l.acs - l.macs * 0.8) < 1e-6 * l.macs);
    }
    assert.ok(Math.abs(out.total.ratio - out.total.ann_energy_pj / out.total.snn_energy_pj) < 1e-9);
    const text = run(
      'energy',
      '--arch',
      'vgg11',
      '--dataset',
      'cifar10',
      '--fire-rate',
      '0.1',
      '--backend',
      BACKEND,
    );
    assert.equal(text.code, 0, text.stderr);
    // without --width: the trainer's default, and the output says so
    assert.match(
      text.stdout,
      new RegExp(
        `^vgg11 \\(width ${TRAIN_DEFAULTS.width}, the trainer's default; --width W for another\\) on cifar10`,
      ),
    );
    assert.match(text.stdout, /ASSUMED — every STCB layer fires at rate 0\.1/);
    assert.match(text.stdout, /energy ratio ANN\/SNN: [\d.]+x/);
  });

  it('--checkpoint uses the run’s recorded spike statistics', () => {
    const dir = join(tmp, 'run-stats');
    writeFixtureRun(dir, { accuracy: 0.7, layers, fireRate: 0.3 });
    const r = run('energy', '--checkpoint', dir, '--json', '--backend', BACKEND);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as EnergyOut;
    assert.equal(out.source.checkpoint, dir);
    const spikes = new Map(
      (
        JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as {
          spike_stats: { layer: string; spikesPerNeuron: number }[];
        }
      ).spike_stats.map((s) => [s.layer, s.spikesPerNeuron]),
    );
    const expected = computeEnergy(layers, spikes, 8);
    assert.ok(Math.abs(out.total.snn_acs - expected.total.snnAcs) < 1e-6 * expected.total.snnAcs);
    assert.equal(out.total.ann_macs, expected.total.annMacs);
  });

  it('--checkpoint on a repeat group averages the seeds’ statistics', () => {
    const dir = join(tmp, 'group');
    writeFixtureRun(join(dir, 'seed-0'), { seed: 0, accuracy: 0.7, layers, fireRate: 0.1 });
    writeFixtureRun(join(dir, 'seed-1'), { seed: 1, accuracy: 0.8, layers, fireRate: 0.3 });
    const r = run('energy', '--checkpoint', dir, '--json', '--backend', BACKEND);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as EnergyOut;
    const first = out.layers.find((l) => l.kind === 'stcb-conv')!;
    assert.ok(Math.abs(first.fire_rate! - 0.2) < 1e-12, String(first.fire_rate)); // mean of 0.1 and 0.3
  });

  it('bad input: one-line errors, exit 2', () => {
    const noStats = join(tmp, 'run-nostats');
    writeFixtureRun(noStats, { accuracy: 0.7 });
    assert.match(
      userError(run('energy', '--checkpoint', noStats, '--backend', BACKEND)),
      /has no spike statistics; pass --fire-rate R/,
    );
    // the same checkpoint with an assumed rate is fine: the run's network, every layer at that rate
    const assumed = run(
      'energy',
      '--checkpoint',
      noStats,
      '--fire-rate',
      '0.2',
      '--json',
      '--backend',
      BACKEND,
    );
    assert.equal(assumed.code, 0, assumed.stderr);
    const out = JSON.parse(assumed.stdout) as EnergyOut;
    assert.deepEqual(out.source, { checkpoint: noStats, fire_rate: 0.2 });
    assert.ok(out.layers.filter((l) => l.kind === 'stcb-conv').every((l) => l.fire_rate === 0.2));
    const unfinished = join(tmp, 'run-unfinished');
    writeFixtureRun(unfinished, { accuracy: null });
    assert.match(userError(run('energy', '--checkpoint', unfinished)), /has not finished/);
    assert.match(
      userError(run('energy', '--arch', 'vgg11', '--dataset', 'cifar10')),
      /--checkpoint RUN_DIR .* or --fire-rate R/,
    );
    assert.match(
      userError(run('energy', '--arch', 'vgg11', '--dataset', 'cifar10', '--fire-rate', '1.5')),
      /--fire-rate must be in \[0, 1\]/,
    );
    // arch, width, T and data set are the checkpoint's: flags may repeat them, not change them
    assert.equal(
      userError(run('energy', '--checkpoint', noStats, '--arch', 'resnet18')),
      `stcsnn: error: --arch resnet18 disagrees with the checkpoint: ${noStats} has arch vgg11 (drop --arch)`,
    );
    assert.match(
      userError(run('energy', '--checkpoint', noStats, '--width', '1', '--fire-rate', '0.2')),
      /--width 1 disagrees with the checkpoint: .* has width 0\.125 \(drop --width\)$/,
    );
    const same = run(
      'energy',
      '--checkpoint',
      noStats,
      '--arch',
      'vgg11',
      '--width',
      '0.125',
      '--fire-rate',
      '0.2',
      '--json',
      '--backend',
      BACKEND,
    );
    assert.equal(same.code, 0, same.stderr);
    assert.equal((JSON.parse(same.stdout) as EnergyOut).width_source, 'checkpoint');
    assert.match(
      userError(run('energy', '--arch', 'vgg11', '--dataset', 'nope', '--fire-rate', '0.1')),
      /unknown data set 'nope'/,
    );
  });
});

describe('stcsnn sweep and report', () => {
  it('bad input: empty value lists and a sweep directory of another configuration', async () => {
    assert.match(userError(run('sweep', '--T', '', '--out', join(tmp, 's0'))), /--T must not be empty/);
    assert.match(
      userError(run('sweep', '--theta0', ',', '--out', join(tmp, 's0'))),
      /--theta0 needs at least one value/,
    );
    assert.match(userError(run('sweep', '--out', join(tmp, 's0'))), /give --theta0 LIST and\/or --T LIST/);
    const dir = join(tmp, 'foreign');
    await runSweep({
      dir,
      config: fixtureConfig({ width: 0.5 }) as never,
      grid: { theta0: [0.8], T: [2] },
      energyConstants: { e_mac_pj: 3.2, e_ac_pj: 0.1, bn_macs_per_element: 2 },
      trainPoint: async (_c, runDir) => writeFixtureRun(runDir, { T: 2, accuracy: 0.5 }) as never,
      energyOf: () => null,
    });
    const e = userError(
      run('sweep', '--T', '2', '--width', '0.125', '--epochs', '1', '--out', dir, '--backend', BACKEND),
    );
    assert.match(e, /was written by a different sweep configuration/);
  });

  it('a tiny real sweep trains, resumes without retraining, and reports', () => {
    const dir = join(tmp, 'real');
    const args = ['sweep', '--T', '2,4', ...TINY_RUN, '--out', dir, '--backend', BACKEND, '--json'];
    const r = run(...args);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      points: { id: string; status: string; test_accuracy: number; energy: { ratio: number } }[];
    };
    assert.deepEqual(
      out.points.map((p) => [p.id, p.status]),
      [
        ['T2_theta0-0.8', 'done'],
        ['T4_theta0-0.8', 'done'],
      ],
    );
    assert.ok(out.points.every((p) => p.energy.ratio > 1));
    const again = run(...args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /point T2_theta0-0\.8: finished before, skipped/);
    assert.doesNotMatch(again.stderr, /training/);
    const rep = run('report', dir, '--no-png', '--json');
    assert.equal(rep.code, 0, rep.stderr);
    const o = JSON.parse(rep.stdout) as { kind: string; missing: string[]; figures: { name: string }[] };
    assert.equal(o.kind, 'sweep');
    assert.deepEqual(o.missing, []);
    assert.ok(o.figures.some((f) => f.name === 'energy-vs-T'));
  });

  it('report on an unfinished sweep names the missing points on stderr', async () => {
    const dir = join(tmp, 'partial');
    await runSweep({
      dir,
      config: fixtureConfig({}) as never,
      grid: { theta0: [0.8], T: [2, 4] },
      energyConstants: { e_mac_pj: 3.2, e_ac_pj: 0.1, bn_macs_per_element: 2 },
      trainPoint: async (_c, runDir, p) => {
        if (p.T === 4) throw new Error('stop');
        return writeFixtureRun(runDir, { T: 2, accuracy: 0.5 }) as never;
      },
      energyOf: () => null,
    }).catch(() => undefined);
    const r = run('report', dir, '--no-png');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unfinished sweep points: T4_theta0-0\.8/);
    assert.match(userError(run('report', join(tmp, 'nothing-here'))), /is not a directory/);
  });
});
