/** Evaluation: accuracy, loss, per-class accuracy, confusion matrix and (optionally) spike statistics. */
import * as tf from '@tensorflow/tfjs-core';
import type { DataLoader } from '../../lib/data/loader.js';
import type { Network } from '../../lib/nn/models.js';
import { SpikeStatsRecorder, type LayerSpikeStats, type SpikeStatsSink } from '../../lib/nn/stats.js';
import { StcbMonitor, stcbFigures, type StcbFigures } from '../../lib/train/monitor.js';
import { crossEntropy } from '../../lib/train/step.js';

/** What {@link evaluate} measures. */
export interface EvalResult {
  /** Fraction correct, 0..1. */
  readonly accuracy: number;
  /** Mean cross-entropy. */
  readonly loss: number;
  readonly count: number;
  /** Accuracy per class (NaN for a class with no samples). */
  readonly perClass: number[];
  /** `confusion[true][predicted]` counts. */
  readonly confusion: number[][];
  /** Per-STCB-layer spike statistics, when requested (and the network spikes). */
  readonly spikeStats?: LayerSpikeStats[];
  /** The runaway monitor's figures per STCB layer on the first samples, when requested (`src/lib/train/monitor.ts`). */
  readonly stcb?: StcbFigures[];
}

/**
 * Evaluates `net` in inference mode over every batch of `loader` (epoch 0 order). `spikeStats`:
 * spike statistics over every sample; `monitorSamples`: the runaway monitor's figures on the first
 * that many samples (both only for a spiking network).
 */
export async function evaluate(
  net: Network,
  loader: DataLoader,
  opts: { spikeStats?: boolean; monitorSamples?: number } = {},
): Promise<EvalResult> {
  const classes = net.config.classes;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const spiking = net.config.mode === 'stc';
  const recorder = opts.spikeStats && spiking ? new SpikeStatsRecorder() : undefined;
  const monitor = opts.monitorSamples && spiking ? new StcbMonitor(opts.monitorSamples) : undefined;
  let lossSum = 0;
  let count = 0;
  for await (const b of loader.epoch(0)) {
    const watch = monitor?.wants() ? monitor : undefined;
    const stats: SpikeStatsSink | undefined =
      recorder && watch
        ? {
            record: (l, t, c) => {
              recorder.record(l, t, c);
              watch.record(l, t, c);
            },
          }
        : (recorder ?? watch);
    const [lossValue, pred] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, ...b.shape]);
      const y = tf.tensor1d(b.y, 'int32');
      const logits = net.forward(x, { training: false, stats });
      const loss = crossEntropy(logits, y);
      return [loss.dataSync()[0], tf.argMax(logits, 1).dataSync()];
    });
    watch?.batchDone(b.size);
    lossSum += lossValue * b.size;
    count += b.size;
    for (let i = 0; i < b.size; i++) confusion[b.y[i]][pred[i]]++;
  }
  let correct = 0;
  const perClass = confusion.map((row, c) => {
    const n = row.reduce((a, v) => a + v, 0);
    correct += row[c];
    return n === 0 ? NaN : row[c] / n;
  });
  return {
    accuracy: count === 0 ? 0 : correct / count,
    loss: count === 0 ? 0 : lossSum / count,
    count,
    perClass,
    confusion,
    spikeStats: recorder?.result(),
    ...(monitor ? { stcb: stcbFigures(net, monitor) } : {}),
  };
}
