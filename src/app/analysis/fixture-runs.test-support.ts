/**
 * Test fixtures: run directories written as the trainer writes them (`config.json`,
 * `log.jsonl`, `result.json`) with synthetic, deterministic contents. Used by the analysis
 * and CLI tests; not part of the public API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { LayerInfo } from '../../lib/nn/models.js';
import { HIST_BINS, HIST_MAX, HIST_MIN, type LayerSpikeStats } from '../../lib/nn/stats.js';
import { runFile } from '../rundir/layout.js';
import { TRAIN_DEFAULTS } from '../config/config.js';

/** What a fixture run looks like. */
export interface FixtureRun {
  readonly arch?: string;
  readonly dataset?: string;
  readonly width?: number;
  readonly T?: number;
  readonly theta0?: number;
  readonly seed?: number;
  readonly epochs?: number;
  /** Final test accuracy (0..1); null writes no `result.json` (an unfinished run). */
  readonly accuracy?: number | null;
  /** Layers of the network (for spike statistics); omitted or empty: no statistics. */
  readonly layers?: readonly LayerInfo[];
  /** Fire rate of every STCB layer (default 0.2). */
  readonly fireRate?: number;
  /** Extra config fields (e.g. a different `lr`). */
  readonly extra?: Record<string, unknown>;
}

/** The trainer's `config.json` for a fixture. */
export function fixtureConfig(f: FixtureRun): Record<string, unknown> {
  return {
    ...TRAIN_DEFAULTS,
    dataset: f.dataset ?? 'fashion-mnist-mini',
    arch: f.arch ?? 'vgg11',
    width: f.width ?? 0.125,
    stc: { ...TRAIN_DEFAULTS.stc, T: f.T ?? 8, theta0: f.theta0 ?? 0.8 },
    epochs: f.epochs ?? 3,
    seed: f.seed ?? 0,
    ...f.extra,
  };
}

/** Synthetic spike statistics: every STCB layer of `layers` fires at `rate` over `samples` images. */
export function fixtureStats(
  layers: readonly LayerInfo[],
  T: number,
  rate: number,
  samples = 100,
): LayerSpikeStats[] {
  return layers
    .filter((l) => l.kind === 'stcb-conv')
    .map((l, i) => {
      const neurons = l.inShape.reduce((a, b) => a * b, 1);
      const r = Math.min(1, rate * (1 + 0.1 * (i % 3)));
      const counts = new Array(HIST_BINS + 2)
        .fill(0)
        .map((_, b) => Math.round(1000 * Math.exp(-((b - 45) ** 2) / 200)));
      return {
        layer: l.name,
        T,
        neurons,
        samples,
        spikes: r * T * neurons * samples,
        spikesPerNeuron: r * T,
        fireRate: r,
        histogram: { min: HIST_MIN, max: HIST_MAX, bins: HIST_BINS, counts },
        inputMin: -2,
        inputMax: 3,
        saturated: 0.02 * neurons * samples,
      };
    });
}

/** Writes a fixture run directory; returns its `result.json` content (null when unfinished). */
export function writeFixtureRun(dir: string, f: FixtureRun): Record<string, unknown> | null {
  mkdirSync(dir, { recursive: true });
  const config = fixtureConfig(f);
  writeFileSync(runFile(dir, 'config'), JSON.stringify(config, null, 2));
  const epochs = f.epochs ?? 3;
  const acc = f.accuracy ?? 0.5;
  const log = Array.from({ length: epochs }, (_, e) => ({
    epoch: e,
    lr: 0.1,
    train_loss: 2 - e * 0.3,
    train_accuracy: ((e + 1) / epochs) * acc + 0.05,
    test_loss: 2.1 - e * 0.25,
    test_accuracy: ((e + 1) / epochs) * acc,
    seconds: 1,
  }));
  writeFileSync(runFile(dir, 'log'), log.map((m) => JSON.stringify(m)).join('\n') + '\n');
  if (f.accuracy === null) return null;
  const T = f.T ?? 8;
  const stats = f.layers?.length ? fixtureStats(f.layers, T, f.fireRate ?? 0.2) : [];
  const result = {
    dataset: config.dataset,
    arch: config.arch,
    mode: 'stc',
    T,
    theta0: f.theta0 ?? 0.8,
    epochs,
    seed: f.seed ?? 0,
    test_accuracy: acc,
    best_test_accuracy: acc,
    best_epoch: epochs - 1,
    fire_rates: stats.map((s) => ({ layer: s.layer, rate: s.fireRate })),
    spike_stats: stats,
  };
  writeFileSync(runFile(dir, 'result'), JSON.stringify(result));
  return result;
}
