/**
 * `reproduce --list`'s estimates: a measured configuration is estimated at its measurement, other
 * networks scale by their MACs from the nearest measurement, and the CPU-scale protocols cost
 * what their runs took (the CIFAR-10 rows: about an hour per run).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  estimateCost,
  estimatedThroughput,
  macsPerImage,
  MEASURED_THROUGHPUTS,
  nearestThroughput,
  type Throughput,
} from './cost.js';
import { EXPERIMENTS, findExperiment, SCALES, type ScaleProtocol } from './experiments.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const protocolOf = (m: Throughput, width = m.width): ScaleProtocol => ({
  arch: m.arch,
  width,
  epochs: 1,
  lrSchedule: 'cosine',
  seeds: 1,
  gradients: ['relu'],
  dataset: m.dataset as ScaleProtocol['dataset'],
});

test('a measured configuration is estimated at its measurement', () => {
  for (const m of MEASURED_THROUGHPUTS) {
    assert.equal(nearestThroughput(protocolOf(m)), m);
    assert.ok(Math.abs(estimatedThroughput(protocolOf(m)) - m.imagesPerSecond) < 1e-9 * m.imagesPerSecond);
  }
});

test('other widths scale by MACs from the same measurement (images/s x MACs is constant)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...MEASURED_THROUGHPUTS), fc.constantFrom(0.125, 0.5, 1), (m, width) => {
      const p = protocolOf(m, width);
      const product = estimatedThroughput(p) * macsPerImage(p.arch, p.dataset, width);
      const measured = m.imagesPerSecond * macsPerImage(m.arch, m.dataset, m.width);
      return Math.abs(product - measured) <= 1e-9 * measured;
    }),
  );
});

test('the nearest measurement: same architecture and data set, else same data set, else same architecture', () => {
  const ms: Throughput[] = [
    { arch: 'vgg11', width: 0.25, dataset: 'fashion-mnist', T: 8, imagesPerSecond: 100, measured: 'a' },
    { arch: 'resnet18', width: 0.25, dataset: 'cifar10', T: 8, imagesPerSecond: 50, measured: 'b' },
  ];
  const p = (arch: ScaleProtocol['arch'], dataset: string) => ({ arch, dataset }) as ScaleProtocol;
  assert.equal(nearestThroughput(p('resnet18', 'cifar10'), ms).measured, 'b');
  assert.equal(nearestThroughput(p('vgg16', 'cifar10'), ms).measured, 'b');
  assert.equal(nearestThroughput(p('vgg11', 'cifar100'), ms).measured, 'a');
  assert.equal(nearestThroughput(p('vgg16', 'tinyimagenet'), ms).measured, 'a');
});

test('the CIFAR-10 rows at CPU scale are estimated at about the hour per run they took', () => {
  for (const id of ['table2-cifar10-vgg16', 'table2-cifar10-resnet18']) {
    const e = findExperiment(id)!;
    const c = estimateCost(e, e.scales.cpu!);
    assert.equal(c.runs, 2, id);
    // two runs side by side take the machine about an hour: estimated between 50 and 80 minutes
    assert.ok(c.seconds > 50 * 60 && c.seconds < 80 * 60, `${id}: ${c.seconds} s`);
  }
});

test('reproduce --list --json: every experiment with a finite estimate at each scale it defines', () => {
  const out = JSON.parse(
    execFileSync(process.execPath, [CLI, 'reproduce', '--list', '--json'], { encoding: 'utf8' }),
  ) as {
    measured_throughputs: Throughput[];
    experiments: { id: string; scales: { scale: string; runs: number; estimated_seconds: number }[] }[];
  };
  assert.deepEqual(out.measured_throughputs, MEASURED_THROUGHPUTS);
  assert.deepEqual(
    out.experiments.map((e) => e.id),
    EXPERIMENTS.map((e) => e.id),
  );
  for (const e of out.experiments) {
    const exp = findExperiment(e.id)!;
    assert.deepEqual(
      e.scales.map((s) => s.scale),
      SCALES.filter((s) => exp.scales[s]),
    );
    for (const s of e.scales)
      // the smoke scale's seconds round to 0
      assert.ok(
        Number.isFinite(s.estimated_seconds) && s.estimated_seconds >= (s.scale === 'smoke' ? 0 : 60),
        e.id,
      );
  }
});
