/**
 * The maths of the run, repeat-group and sweep reports, apart from their rendering: spike
 * statistics averaged over seeds, an even pick of layers, the monitor's most saturated layer.
 */
import type { LayerSpikeStats } from '../../lib/nn/stats.js';

/** Mean statistics over several runs' `spike_stats` (same layers): the mean of each field. */
export function meanSpikeStats(all: readonly (readonly LayerSpikeStats[])[]): LayerSpikeStats[] {
  if (all.length === 0) return [];
  return all[0].map((first) => {
    const same = all.map((s) => s.find((l) => l.layer === first.layer)).filter((l) => l !== undefined);
    const m = (f: (l: LayerSpikeStats) => number) => same.reduce((a, l) => a + f(l), 0) / same.length;
    return {
      ...first,
      samples: same.reduce((a, l) => a + l.samples, 0),
      spikes: same.reduce((a, l) => a + l.spikes, 0),
      spikesPerNeuron: m((l) => l.spikesPerNeuron),
      fireRate: m((l) => l.fireRate),
      histogram: {
        ...first.histogram,
        counts: first.histogram.counts.map((_, i) =>
          same.reduce((a, l) => a + (l.histogram.counts[i] ?? 0), 0),
        ),
      },
      inputMin: Math.min(...same.map((l) => l.inputMin)),
      inputMax: Math.max(...same.map((l) => l.inputMax)),
      ...(same.every((l) => l.saturated !== undefined)
        ? { saturated: same.reduce((a, l) => a + l.saturated!, 0) }
        : { saturated: undefined }),
    };
  });
}

/** Up to `n` items spread evenly over `xs` (first and last included). */
export function evenSpread<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
}

/** The layer with the largest 99.9th percentile against its `S` (a NaN ratio counts as largest). */
export function mostSaturated<F extends { readonly input_p999: number; readonly S: number }>(
  figures: readonly F[],
): F {
  return figures.reduce((a, f) => (!(f.input_p999 / f.S <= a.input_p999 / a.S) ? f : a));
}
