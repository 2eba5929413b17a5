/**
 * The runaway monitor (docs/reliability.md, "Saturation runaway"): per STCB layer, figures of
 * its STEB input on a small fixed sample at the end of every epoch, written into `log.jsonl`
 * (`stcb`), and the rule that says when a layer is running away.
 *
 * Per STCB layer, over the first {@link MONITOR_SAMPLES} test samples in inference mode (the
 * evaluation pass the trainer runs anyway records them: no extra forward pass):
 *
 * - `input_max`, `input_p999`: the largest STEB input and its 99.9th percentile (nearest rank);
 * - `saturated_share`: the share of inputs `x >= S`, `S = sum_t theta(t)` (float32), which STEB
 *   decodes as `S` whatever their size, while the ReLU equivalent gradient still passes them;
 * - `nonpositive_share`: the share `x <= 0` (no spike);
 * - `fire_rate`: spikes per neuron over the train, divided by `T`;
 * - `bn`: mean and max `|gamma|` of the batch norm that feeds the layer (through max pools), or
 *   null where none does.
 *
 * With learned thresholds (`--learn-theta layer|channel`) the layers hand over `x / theta0` and the
 * unit-threshold code, so every figure is in units of `theta0` and `S` is the unit code's
 * saturation level (`S` is recorded with each layer). The figures' type is {@link StcbFigures};
 * the trainer writes them into `log.jsonl`, whose schema (`src/app/rundir/log-file.ts`) reads
 * them back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { saturation, type StcConfig } from '../core/config.js';
import { spikeCounts } from '../core/stc.js';
import type { Network } from '../nn/models.js';
import type { NetworkPlan } from '../nn/plan.js';
import type { SpikeStatsSink } from '../nn/stats.js';
import { readTidy } from '../util/read.js';

/** The batch norm feeding an STCB layer in the monitor's figures: mean and max `|gamma|` of its `weight`. */
export interface StcbBnFigures {
  readonly layer: string;
  readonly gamma_abs_mean: number;
  readonly gamma_abs_max: number;
}

/**
 * The runaway monitor's figures of one STCB layer:
 * - `samples`: samples measured;
 * - `S`: the saturation level `S = sum_t theta(t)` of the code the figures are in (float32);
 * - `input_max`, `input_p999`: the STEB input's max and 99.9th percentile (the value at rank
 *   `ceil(0.999 n)` of the `n` sorted inputs);
 * - `saturated_share`, `nonpositive_share`: shares of inputs `x >= S` and `x <= 0`;
 * - `fire_rate`: spikes per neuron per sample over the train, divided by `T` (0..1);
 * - `bn`: the batch norm feeding the layer; null where none does.
 */
export interface StcbFigures {
  readonly layer: string;
  readonly samples: number;
  readonly S: number;
  readonly input_max: number;
  readonly input_p999: number;
  readonly saturated_share: number;
  readonly nonpositive_share: number;
  readonly fire_rate: number;
  readonly bn: StcbBnFigures | null;
}

/** Test samples the monitor measures on (the first ones, in the test loader's fixed order). */
export const MONITOR_SAMPLES = 256;

/**
 * The `q`-quantile (nearest rank) of `values`: the `ceil(q n)`-th smallest (1-based, at least the
 * first), so that a share `q` of the values is at or below it. NaN for an empty array. Reorders
 * `values` (quickselect, O(n) on average).
 */
export function nearestRankQuantile(values: Float32Array, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const k = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return selectKth(values, k);
}

/** The `k`-th smallest (0-based) of `a`, reordering `a`: quickselect with a three-way partition. */
function selectKth(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // a[lo..lt) < pivot, a[lt..i) == pivot, a(gt..hi] > pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) {
        a[i] = a[lt];
        a[lt] = v;
        lt++;
        i++;
      } else if (v > pivot) {
        a[i] = a[gt];
        a[gt] = v;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[k];
}

interface LayerAcc {
  S: number;
  T: number;
  samples: number;
  spikes: number;
  neurons: number;
  chunks: Float32Array[];
}

/**
 * Collects the STEB inputs of every STCB layer for the first `limit` samples it is shown (a
 * {@link SpikeStatsSink}: pass it as `ForwardOptions.stats`); further samples are ignored.
 */
export class StcbMonitor implements SpikeStatsSink {
  private readonly layers = new Map<string, LayerAcc>();
  private seen = 0;

  constructor(readonly limit = MONITOR_SAMPLES) {}

  /** Whether it still wants samples: pass it to the forward pass of the next batch only then. */
  wants(): boolean {
    return this.seen < this.limit;
  }

  /** Counts a batch of `n` samples as shown (call after its forward pass). */
  batchDone(n: number): void {
    this.seen += n;
  }

  /** Records the first samples of `x: [N, ...]` (those within `limit`) of layer `label`. */
  record(label: string, x: tf.Tensor, cfg: StcConfig): void {
    let acc = this.layers.get(label);
    const take = Math.min(x.shape[0], this.limit - (acc?.samples ?? 0));
    if (take <= 0) return;
    const neurons = x.size / x.shape[0];
    // read outside tf.tidy: a scope walks a typed array it returns element by element (util/read.ts)
    const part = take === x.shape[0] ? x : tf.slice(x, 0, take);
    const values = part.dataSync().slice(); // a copy: the backend may own the array it returns
    const spikes = readTidy(() => tf.sum(spikeCounts(part, cfg)))[0];
    if (part !== x) part.dispose();
    if (!acc) {
      acc = { S: Math.fround(saturation(cfg)), T: cfg.T, samples: 0, spikes: 0, neurons, chunks: [] };
      this.layers.set(label, acc);
    }
    acc.samples += take;
    acc.spikes += spikes;
    acc.chunks.push(values as Float32Array);
  }

  /**
   * The figures per layer, in network order; `bnOf(layer)` gives the batch norm figures of the
   * layer's feeding batch norm (null: none).
   */
  figures(bnOf: (layer: string) => StcbBnFigures | null = () => null): StcbFigures[] {
    return [...this.layers.entries()].map(([layer, a]) => {
      const n = a.chunks.reduce((s, c) => s + c.length, 0);
      const all = new Float32Array(n);
      let off = 0;
      for (const c of a.chunks) {
        all.set(c, off);
        off += c.length;
      }
      let max = -Infinity;
      let nan = false;
      let saturated = 0;
      let nonpositive = 0;
      for (let i = 0; i < n; i++) {
        const v = all[i];
        if (v > max) max = v;
        else if (Number.isNaN(v)) nan = true;
        if (v >= a.S) saturated++;
        if (v <= 0) nonpositive++;
      }
      return {
        layer,
        samples: a.samples,
        S: a.S,
        input_max: nan ? NaN : max,
        input_p999: nearestRankQuantile(all, 0.999),
        saturated_share: saturated / Math.max(1, n),
        nonpositive_share: nonpositive / Math.max(1, n),
        fire_rate: a.spikes / Math.max(1, a.neurons * a.samples) / a.T,
        bn: bnOf(layer),
      };
    });
  }
}

/**
 * The batch norm that feeds STCB `layer` of `plan`: its input's producer, followed back through
 * max pools; null when that is no batch norm (or `layer` is not in the plan).
 */
export function feedingBatchNorm(plan: NetworkPlan, layer: string): string | null {
  const byName = new Map(plan.layers.map((l) => [l.name, l]));
  let l = byName.get(layer);
  let from = l?.inputs[0];
  while (from !== undefined) {
    l = byName.get(from);
    if (!l) return null;
    if (l.kind === 'bn') return l.name;
    if (l.kind !== 'maxpool') return null;
    from = l.inputs[0];
  }
  return null;
}

/** Mean and max `|gamma|` of batch norm `bn` of `net` (its `<bn>.weight`); null when it has none. */
export function batchNormFigures(net: Network, bn: string): StcbBnFigures | null {
  const v = net.namedVariables().find((e) => e.name === `${bn}.weight`)?.variable;
  if (!v) return null;
  const g = v.dataSync();
  let sum = 0;
  let max = 0;
  for (const x of g) {
    const a = Math.abs(x);
    sum += a;
    if (a > max || Number.isNaN(a)) max = Number.isNaN(max) ? max : a;
  }
  return { layer: bn, gamma_abs_mean: sum / Math.max(1, g.length), gamma_abs_max: max };
}

/** The monitor's figures for `net`, with the batch norm feeding each layer. */
export function stcbFigures(net: Network, monitor: StcbMonitor): StcbFigures[] {
  return monitor.figures((layer) => {
    const bn = feedingBatchNorm(net.plan, layer);
    return bn === null ? null : batchNormFigures(net, bn);
  });
}

/**
 * The runaway rule: a layer runs away when the 99.9th percentile of its STEB input reaches
 * `RUNAWAY_P999_FACTOR * S` (inputs that far above `S` all decode as `S`: STEB clips them while
 * the ReLU equivalent gradient keeps pushing them up).
 */
export const RUNAWAY_P999_FACTOR = 10;

/** A layer that the rule says runs away, with the figure that says so. */
export interface Runaway {
  readonly layer: string;
  /** `input_p999 / S`. */
  readonly factor: number;
  readonly figures: StcbFigures;
}

/**
 * The layer that runs away most (largest `input_p999 / S`, a NaN counting as running away)
 * among those at or above {@link RUNAWAY_P999_FACTOR}; null when none is.
 */
export function findRunaway(figures: readonly StcbFigures[]): Runaway | null {
  let worst: Runaway | null = null;
  for (const f of figures) {
    const factor = f.input_p999 / f.S;
    if (!(factor < RUNAWAY_P999_FACTOR) && (worst === null || !(factor <= worst.factor)))
      worst = { layer: f.layer, factor, figures: f };
  }
  return worst;
}

/**
 * How the monitor writes a figure (its tables, `src/lib/analysis/stcb-rows.ts`, and the runaway
 * warning of the CLI): three significant digits, `e` notation from 1e4 on; `Infinity`, `NaN` as such.
 */
export const monitorNumber = (v: number): string =>
  Number.isFinite(v) ? (Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toPrecision(3)) : String(v);
