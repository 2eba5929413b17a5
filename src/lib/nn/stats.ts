/**
 * Spike statistics of STCB layers over an evaluation set (docs/semantics.md §3): per layer, the input
 * neurons per sample, total spikes over T, the average spike count per neuron, the firing
 * rate (count / T), a histogram of the STEB inputs (membrane potentials) and how many inputs
 * saturate (at or above `S = sum_t theta(t)`).
 *
 * Recording costs one extra pass per layer and a device read; the default forward path never
 * records.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputShift, saturation, type StcConfig } from '../core/config.js';
import { spikeCounts } from '../core/stc.js';
import { readTidy } from '../util/read.js';

/** Histogram bins of STEB inputs: `HIST_BINS` equal bins on `[HIST_MIN, HIST_MAX)`, plus under/overflow. */
export const HIST_MIN = -4;
export const HIST_MAX = 4;
export const HIST_BINS = 80;

/** Statistics of one STCB layer. */
export interface LayerSpikeStats {
  /** Layer name (module path). */
  readonly layer: string;
  /** Spike-train length. */
  readonly T: number;
  /** Input neurons per sample (STEB neurons). */
  readonly neurons: number;
  /** Samples seen. */
  readonly samples: number;
  /** Total spikes over all samples, neurons and time steps. */
  readonly spikes: number;
  /** Average spike count per neuron per sample, `spikes / (neurons * samples)`, in `0..T`. */
  readonly spikesPerNeuron: number;
  /** Firing rate, `spikesPerNeuron / T`, in `0..1`. */
  readonly fireRate: number;
  /** Histogram of STEB inputs: `counts[0]` below HIST_MIN, `counts[HIST_BINS+1]` at or above HIST_MAX. */
  readonly histogram: { min: number; max: number; bins: number; counts: number[] };
  /** Smallest and largest input seen. */
  readonly inputMin: number;
  readonly inputMax: number;
  /**
   * Inputs at or above the saturation level `S = sum_t theta(t)` (float32), over all samples and
   * neurons: STEB fires at every step and CAB decodes `S` whatever the input, while the ReLU
   * equivalent gradient still passes through them (docs/semantics.md §1.4). Absent in results
   * recorded before it was counted.
   */
  readonly saturated?: number;
}

/** The fraction of a layer's inputs that saturated, `saturated / (neurons * samples)`; null when not recorded. */
export function saturatedFraction(s: LayerSpikeStats): number | null {
  return s.saturated === undefined ? null : s.saturated / Math.max(1, s.neurons * s.samples);
}

interface Acc {
  T: number;
  neurons: number;
  samples: number;
  spikes: number;
  counts: number[];
  min: number;
  max: number;
  saturated: number;
}

/**
 * What a forward pass hands the STEB inputs of its STCB layers to (`ForwardOptions.stats`):
 * `record(label, x, cfg)` with `x: [N, ...]` the layer's STEB input and `cfg` the spike code it
 * is encoded with (for learned thresholds, `x / theta0` with the unit-threshold code, so that
 * `S = saturation(cfg)` is the saturation level in `x`'s units).
 */
export interface SpikeStatsSink {
  /** Takes one batch of STEB inputs `x: [N, ...]` of layer `label`, encoded with `cfg`. */
  record(label: string, x: tf.Tensor, cfg: StcConfig): void;
}

/** Accumulates spike statistics per layer across batches. */
export class SpikeStatsRecorder implements SpikeStatsSink {
  private readonly layers = new Map<string, Acc>();

  /** Records one batch of STEB inputs `x: [N, ...]` of layer `label`. */
  record(label: string, x: tf.Tensor, cfg: StcConfig): void {
    const n = x.shape[0];
    const neurons = x.size / n;
    const spikes = readTidy(() => tf.sum(spikeCounts(x, cfg)))[0];
    const values = x.dataSync();
    let acc = this.layers.get(label);
    if (!acc) {
      acc = {
        T: cfg.T,
        neurons,
        samples: 0,
        spikes: 0,
        counts: new Array(HIST_BINS + 2).fill(0),
        min: Infinity,
        max: -Infinity,
        saturated: 0,
      };
      this.layers.set(label, acc);
    }
    acc.samples += n;
    acc.spikes += spikes;
    const scale = HIST_BINS / (HIST_MAX - HIST_MIN);
    // with a shifted membrane start the encoder saturates that much earlier
    const S = Math.fround(saturation(cfg) - inputShift(cfg));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v >= S) acc.saturated++;
      if (v < acc.min) acc.min = v;
      if (v > acc.max) acc.max = v;
      const b = v < HIST_MIN ? 0 : v >= HIST_MAX ? HIST_BINS + 1 : 1 + Math.floor((v - HIST_MIN) * scale);
      acc.counts[b]++;
    }
  }

  /** The statistics so far, in the order layers were first seen (network order). */
  result(): LayerSpikeStats[] {
    return [...this.layers.entries()].map(([layer, a]) => {
      const spikesPerNeuron = a.spikes / (a.neurons * a.samples);
      return {
        layer,
        T: a.T,
        neurons: a.neurons,
        samples: a.samples,
        spikes: a.spikes,
        spikesPerNeuron,
        fireRate: spikesPerNeuron / a.T,
        histogram: { min: HIST_MIN, max: HIST_MAX, bins: HIST_BINS, counts: [...a.counts] },
        inputMin: a.min,
        inputMax: a.max,
        saturated: a.saturated,
      };
    });
  }
}
