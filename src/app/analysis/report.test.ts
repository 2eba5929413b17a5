import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import type { LayerInfo } from '../../lib/nn/models.js';
import { renderSvg, svgToPng, trainingCurves } from './charts.js';
import { computeEnergy } from '../../lib/analysis/energy.js';
import { energyOfRun, energySummaryOfRun } from './run-energy.js';
import { meanStdBest } from '../rundir/repeats-file.js';
import { runSweep, type SweepOptions } from '../runs/sweep.js';
import { checkpointGeometry, layersFor } from './network.js';
import { leftOutNote } from './report-sections.js';
import { writeReport } from './report.js';
import { LOSS_WINDOWS, LossWindows } from '../train/loss-windows.js';
import { readRunDir } from './rundir.js';
import { dirKind } from '../rundir/dirs.js';
import { fixtureConfig, fixtureStats, writeFixtureRun } from './fixture-runs.test-support.js';

const tmp = mkdtempSync(join(tmpdir(), 'stcsnn-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let layers: LayerInfo[] = [];
before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
  layers = layersFor({ arch: 'vgg11', dataset: 'fashion-mnist-mini', width: 0.125, T: 8 });
});

describe('charts', () => {
  it('renders a Vega-Lite figure to an SVG with its title and axis titles', async () => {
    const fig = trainingCurves(
      [
        { run: 'r', epoch: 1, trainLoss: 2, testLoss: 2.1, trainAccuracy: 0.3, testAccuracy: 0.25 },
        { run: 'r', epoch: 2, trainLoss: 1.5, testLoss: 1.6, trainAccuracy: 0.5, testAccuracy: 0.45 },
      ],
      'subtitle here',
    );
    const svg = await renderSvg(fig.spec);
    assert.match(svg, /^<svg/);
    for (const text of ['Training curves', 'subtitle here', 'accuracy (%)', 'epoch', 'loss']) {
      assert.ok(svg.includes(text), `SVG lacks '${text}'`);
    }
    const png = await svgToPng(svg);
    if (png) assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]); // PNG signature
  });
});

describe('charts of short runs', () => {
  it('a one-epoch run shows its points and its loss per batch window, with integer epoch ticks', async () => {
    const windows = [2.3, 2.1, 1.9, 1.8, 1.6];
    const fig = trainingCurves([
      {
        run: 'r',
        epoch: 1,
        trainLoss: 1.9,
        trainLossWindows: windows,
        testLoss: 1.7,
        trainAccuracy: 0.3,
        testAccuracy: 0.35,
      },
    ]);
    const spec = fig.spec as unknown as {
      hconcat: {
        data: { values: { split: string; epoch: number; loss?: number }[] };
        mark: { point: unknown };
      }[];
    };
    const loss = spec.hconcat[1].data.values.filter((r) => r.split === 'train');
    assert.deepEqual(
      loss.map((r) => r.loss),
      windows,
    );
    assert.deepEqual(
      loss.map((r) => r.epoch),
      [0.2, 0.4, 0.6, 0.8, 1],
    );
    assert.ok(
      spec.hconcat.every((h) => h.mark.point),
      'points are drawn',
    );
    assert.match(fig.caption, /per batch window/);
    const svg = await renderSvg(fig.spec);
    assert.ok(!svg.includes('1.000000'), 'no 1.000000 tick');
    assert.ok(/>0<\/text>/.test(svg) && />1<\/text>/.test(svg), 'ticks 0 and 1 on the epoch axis');
    // logs written before the windows were recorded: one point per epoch, still drawn
    const old = trainingCurves([
      { run: 'r', epoch: 1, trainLoss: 2, testLoss: 2.1, trainAccuracy: 0.3, testAccuracy: 0.2 },
    ]);
    assert.match(old.caption, /^Training curves: accuracy and loss per epoch/);
  });

  it('LossWindows: sample-weighted means of consecutive batch windows', () => {
    const w = new LossWindows(5, 2); // windows of 3 batches: [0, 1, 2], [3, 4]
    [1, 2, 3, 4, 5].forEach((loss, i) => w.add(i, loss, i === 4 ? 3 : 1));
    assert.deepEqual(w.means(), [2, (4 + 5 * 3) / 4]);
    const one = new LossWindows(3); // fewer batches than LOSS_WINDOWS: one window per batch
    [0.5, 0.25, 0.125].forEach((l, i) => one.add(i, l, 10));
    assert.deepEqual(one.means(), [0.5, 0.25, 0.125]);
    assert.ok(LOSS_WINDOWS >= 2);
  });

  it('a per-layer figure that leaves layers out names them in its caption', () => {
    assert.equal(leftOutNote([{ name: 'a' }], [{ name: 'a' }]), '');
    assert.equal(
      leftOutNote([{ name: 'conv1' }, { name: 'pool1' }, { name: 'flatten' }], [{ name: 'conv1' }]),
      ' Left out (no multiply-accumulates or accumulates): pool1, flatten.',
    );
  });
});

describe('energy summary at the end of training', () => {
  it('states ANN vs STCSNN energy and their ratio; nothing for a run without statistics', () => {
    const stats = fixtureStats(layers, 8, 0.2);
    const cfg = { arch: 'vgg11', dataset: 'fashion-mnist-mini', width: 0.125, stc: { T: 8 } };
    const e = computeEnergy(layers, new Map(stats.map((s) => [s.layer, s.spikesPerNeuron])), 8);
    const text = energySummaryOfRun(cfg, stats)!;
    assert.ok(text.includes(`energy ratio ANN/STCSNN: ${e.total.ratio.toFixed(2)}x`), text);
    assert.match(text, /ANN twin [\d.]+ µJ .* STCSNN T=8 [\d.]+ µJ/);
    assert.equal(energySummaryOfRun(cfg, []), null);
    assert.match(
      energySummaryOfRun({ ...cfg, width: 0.25 }, stats)!,
      /^energy: not computed \(run: layer blocks\.0\.conv has/,
    );
  });
});

describe('input geometry from the checkpoint', () => {
  it('a resized CIFAR10-DVS run takes [H,W,C] and classes from its safetensors header', () => {
    const dir = join(tmp, 'dvs');
    const cfg = {
      arch: 'vgg11',
      mode: 'stc',
      width: 0.125,
      inputShape: [48, 48, 4],
      classes: 10,
      path: 'fused',
      stc: { T: 8, theta0: 2, tau: 2, schedule: 'exp', fire: '>=' },
    };
    const dvsLayers = layersFor({
      arch: 'vgg11',
      dataset: 'cifar10-dvs',
      width: 0.125,
      T: 8,
      inputShape: [48, 48, 4],
    });
    writeFixtureRun(dir, { dataset: 'cifar10-dvs', theta0: 2, accuracy: 0.6, layers: dvsLayers });
    const header = Buffer.from(
      JSON.stringify({
        __metadata__: { 'stcsnn.format': 'stcsnn-model/1', 'stcsnn.config': JSON.stringify(cfg) },
      }),
    );
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    // without a checkpoint the data set's 128x128x2 does not match the recorded neurons
    assert.throws(() => energyOfRun(readRunDir(dir)), /neurons in the statistics but/);
    writeFileSync(join(dir, 'last.safetensors'), Buffer.concat([len, header]));
    assert.deepEqual(checkpointGeometry(dir), { inputShape: [48, 48, 4], classes: 10 });
    const e = energyOfRun(readRunDir(dir));
    assert.equal(e.layers[0].annMacs, 9 * 4 * 8 * 48 * 48); // stem: 3x3, 4 -> 8 channels on 48x48
    assert.equal(checkpointGeometry(join(tmp, 'no-such-run')), null);
  });
});

describe('report of a run directory', () => {
  it('writes report.md with results, spike statistics, energy and SVG figures', async () => {
    const dir = join(tmp, 'run');
    writeFixtureRun(dir, { accuracy: 0.8125, layers, fireRate: 0.25 });
    assert.equal(dirKind(dir), 'run');
    const r = await writeReport(dir);
    assert.equal(r.kind, 'run');
    assert.deepEqual(r.missing, []);
    const md = readFileSync(r.report, 'utf8');
    assert.match(md, /final test accuracy \| 81\.25%/);
    assert.match(md, /## Spike statistics/);
    // input range and the saturated share (2 % of the inputs in the fixture) per layer
    assert.match(md, /\| input range \| saturated \|/);
    assert.match(md, /\| -2\.00 \.\. 3\.00 \| 2\.00% \|/);
    const e = computeEnergy(
      layers,
      new Map(fixtureStats(layers, 8, 0.25).map((s) => [s.layer, s.spikesPerNeuron])),
      8,
    );
    assert.ok(md.includes(`Energy ratio ANN / STCSNN: ${e.total.ratio.toFixed(2)}x`));
    assert.deepEqual(
      r.figures.map((f) => f.name),
      ['training-curves', 'fire-rate', 'spikes', 'steb-inputs', 'energy-per-layer'],
    );
    for (const f of r.figures) {
      assert.match(readFileSync(f.svg, 'utf8'), /^<svg/);
      assert.ok(md.includes(`figures/${f.name}.svg`));
    }
  });

  it("shows the runaway monitor's figures and warning from log.jsonl, and says when a log has none", async () => {
    const dir = join(tmp, 'monitored');
    writeFixtureRun(dir, { accuracy: 0.5, layers, epochs: 2 });
    const old = readFileSync(join(dir, 'log.jsonl'), 'utf8');
    const before = await writeReport(dir, { png: false });
    assert.match(
      readFileSync(before.report, 'utf8'),
      /## Saturation of the STCB inputs \(runaway monitor\)\n\nNot recorded/,
    );
    const fig = (layer: string, p999: number, gamma: number) => ({
      layer,
      samples: 256,
      S: 2,
      input_max: 2 * p999,
      input_p999: p999,
      saturated_share: 0.25,
      nonpositive_share: 0.5,
      fire_rate: 0.125,
      bn: { layer: `${layer}.bn`, gamma_abs_mean: gamma / 2, gamma_abs_max: gamma },
    });
    const lines = old
      .trim()
      .split('\n')
      .map((l, e) => ({
        ...JSON.parse(l),
        stcb: [fig('blocks.0.conv', e === 0 ? 3 : 3e6, e === 0 ? 1 : 2e5), fig('blocks.1.conv', 40, 5)],
        ...(e === 1 ? { warning: 'STCB inputs run away in blocks.0.conv (epoch 2): ...' } : {}),
      }));
    writeFileSync(join(dir, 'log.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const md = readFileSync((await writeReport(dir, { png: false })).report, 'utf8');
    assert.match(md, /\*\*Warning \(epoch 2\):\*\* STCB inputs run away in blocks\.0\.conv/);
    assert.match(md, /at the end of epoch 2, on the first 256 test samples/);
    assert.match(
      md,
      /\| blocks\.0\.conv \| 2\.00 \| 6\.00e\+6 \| 3\.00e\+6 \| 1\.50e\+6 \| 25\.0% \| 50\.0% \| 0\.1250 \| blocks\.0\.conv\.bn \| 1\.00e\+5 \| 2\.00e\+5 \|/,
    );
    // per epoch the worst layer: blocks.1.conv (20 S) in epoch 1, blocks.0.conv in epoch 2
    assert.match(md, /\| 1 \| blocks\.1\.conv \| 20\.0 \| 25\.0% \| blocks\.1\.conv\.bn \| 5\.00 \|/);
    assert.match(md, /\| 2 \| blocks\.0\.conv \| 1\.50e\+6 \|/);
  });

  it('statistics that do not fit the architecture leave a note instead of the energy section', async () => {
    const dir = join(tmp, 'mismatch');
    const wide = layersFor({ arch: 'vgg11', dataset: 'fashion-mnist-mini', width: 0.25, T: 8 });
    writeFixtureRun(dir, { accuracy: 0.5, layers: wide }); // config says width 0.125
    const r = await writeReport(dir, { png: false });
    const md = readFileSync(r.report, 'utf8');
    assert.match(
      md,
      /## Energy\n\nNot computed: .*layer blocks\.0\.conv has \d+ neurons in the statistics but \d+ in the architecture/,
    );
    assert.match(md, /## Spike statistics/);
  });

  it('an unfinished run reports what it has and says it has not finished', async () => {
    const dir = join(tmp, 'unfinished');
    writeFixtureRun(dir, { accuracy: null, epochs: 2 });
    const r = await writeReport(dir, { png: false });
    assert.deepEqual(r.missing, [dir]);
    assert.match(
      readFileSync(r.report, 'utf8'),
      /has not finished \(no `result\.json`\): 2 epoch\(s\) logged/,
    );
    assert.ok(r.figures.every((f) => f.png === null));
  });
});

describe('report of a repeat group', () => {
  it('gives the Table-2 row (mean, sample stddev, best) and lists unfinished seeds', async () => {
    const dir = join(tmp, 'repeats');
    const accs = [0.9, 0.8, 0.85];
    accs.forEach((a, i) => writeFixtureRun(join(dir, `seed-${i}`), { seed: i, accuracy: a, layers }));
    writeFixtureRun(join(dir, 'seed-3'), { seed: 3, accuracy: null });
    // seed 1 warned of a runaway in its second epoch
    const log1 = join(dir, 'seed-1', 'log.jsonl');
    const lines = readFileSync(log1, 'utf8').trim().split('\n');
    lines[1] = JSON.stringify({ ...JSON.parse(lines[1]), warning: 'STCB inputs run away in blocks.0.conv' });
    writeFileSync(log1, lines.join('\n') + '\n');
    writeFileSync(join(dir, 'repeats.json'), JSON.stringify({ config: fixtureConfig({}) }));
    assert.equal(dirKind(dir), 'repeats');
    const r = await writeReport(dir, { png: false });
    const md = readFileSync(r.report, 'utf8');
    const s = meanStdBest(accs);
    assert.ok(Math.abs(s.stddev - 0.05) < 1e-12);
    assert.match(md, /\| fashion-mnist-mini \| VGG11 \| 8 \| 85\.00 \| 5\.00 \| 90\.00 \| 3 of 4 \|/);
    assert.deepEqual(r.missing, [join(dir, 'seed-3')]);
    assert.match(md, /Unfinished seeds:\*\* `seed-3`/);
    assert.match(
      md,
      /\*\*Runaway warnings\*\*.*\n\n- seed 1, epoch 2: STCB inputs run away in blocks\.0\.conv\n\n/,
    );
  });
});

describe('report of a sweep', () => {
  async function sweep(dir: string, grid: { theta0: number[]; T: number[] }, failOn?: string): Promise<void> {
    const o: SweepOptions = {
      dir,
      config: fixtureConfig({}) as SweepOptions['config'],
      grid,
      energyConstants: { e_mac_pj: 3.2, e_ac_pj: 0.1, bn_macs_per_element: 2 },
      trainPoint: async (config, runDir, p) => {
        if (p.id === failOn) throw new Error('stopped');
        const stc = config.stc as { T: number; theta0: number };
        return writeFixtureRun(runDir, {
          T: stc.T,
          theta0: stc.theta0,
          accuracy: 0.6 + 0.02 * stc.T,
          layers,
          fireRate: 0.05 * stc.T,
        }) as never;
      },
      energyOf: (config, stats) =>
        computeEnergy(
          layers,
          new Map(stats.map((s) => [s.layer, s.spikesPerNeuron])),
          (config.stc as { T: number }).T,
        ),
    };
    await runSweep(o).catch((e: Error) => {
      if (e.message !== 'stopped') throw e;
    });
  }

  it('draws Fig. 5-9 for a finished sweep', async () => {
    const dir = join(tmp, 'sweep');
    await sweep(dir, { theta0: [0.4, 0.8], T: [2, 4, 8] });
    const r = await writeReport(dir, { png: false });
    assert.equal(r.kind, 'sweep');
    assert.deepEqual(r.missing, []);
    assert.deepEqual(
      r.figures.map((f) => f.name),
      [
        'accuracy-vs-theta0',
        'accuracy-vs-T',
        'training-curves-vs-T',
        'fire-rate-vs-T',
        'spikes-vs-T',
        'flops-vs-T',
        'energy-vs-T',
      ],
    );
    const svg = readFileSync(join(dir, 'figures', 'energy-vs-T.svg'), 'utf8');
    assert.ok(svg.includes('energy per image (µJ)'));
    assert.ok(svg.includes('ANN twin') && svg.includes('STCSNN'));
  });

  it('an unfinished sweep names its missing points', async () => {
    const dir = join(tmp, 'sweep-partial');
    await sweep(dir, { theta0: [0.8], T: [2, 4, 8] }, 'T4_theta0-0.8');
    const r = await writeReport(dir, { png: false });
    assert.deepEqual(r.missing, ['T4_theta0-0.8', 'T8_theta0-0.8']);
    const md = readFileSync(r.report, 'utf8');
    assert.match(md, /\*\*Missing points \(not finished\):\*\* `T4_theta0-0\.8`, `T8_theta0-0\.8`/);
    assert.match(md, /1 of 3 point\(s\) finished/);
    assert.ok(existsSync(join(dir, 'sweep.csv')));
  });

  it('rejects a directory that is none of run, repeats or sweep', async () => {
    await assert.rejects(writeReport(tmp), /is not a run, repeat group or sweep directory/);
  });
});
