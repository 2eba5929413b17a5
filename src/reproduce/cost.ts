/**
 * What an experiment costs at a scale, estimated from one measured training throughput scaled
 * by the network's multiply-accumulates (from its plan): `stcsnn reproduce --list`.
 *
 * The reference ({@link REFERENCE_THROUGHPUT}) was measured on the 2-core development machine
 * with the native backend; other architectures, widths and input sizes are estimated as
 * `reference images/s * reference MACs / MACs` (a convolution's time is close to proportional
 * to its MACs on a CPU), evaluation as a third of a training step per image. Estimates, not
 * promises: a GPU divides them by 10-100.
 */
import { layersFor } from '../analysis/network.js';
import { datasetInfo } from '../data/registry.js';
import { weightMacs } from '../nn/plan.js';
import type { Experiment, ScaleProtocol } from './experiments.js';
import { runCount } from './runner.js';

/** A measured training throughput. */
export interface Throughput {
  readonly arch: 'vgg11' | 'vgg16' | 'resnet18';
  readonly width: number;
  readonly dataset: string;
  readonly T: number;
  readonly imagesPerSecond: number;
  /** How and where it was measured. */
  readonly measured: string;
}

/**
 * VGG11, width 0.25, Fashion-MNIST (28 x 28 x 1), T = 8: 220 training images/s (the progress
 * lines of `stcsnn sweep --dataset fashion-mnist --arch vgg11 --width 0.25 --backend libtorch
 * --threads 2`, niced beside other work on 2 cores).
 */
export const REFERENCE_THROUGHPUT: Throughput = {
  arch: 'vgg11',
  width: 0.25,
  dataset: 'fashion-mnist',
  T: 8,
  imagesPerSecond: 220,
  measured:
    'stcsnn sweep, native backend (libtorch), 2 threads, 2-core x86-64 machine shared with other work',
};

/** Multiply-accumulates per image of a network (weights only: convolutions and the head). */
export function macsPerImage(arch: string, dataset: string, width: number): number {
  return layersFor({ arch, dataset, width, T: 8 }).reduce((a, l) => a + weightMacs(l), 0);
}

/** Estimated training images per second of a protocol on the reference machine. */
export function estimatedThroughput(p: ScaleProtocol, ref: Throughput = REFERENCE_THROUGHPUT): number {
  const refMacs = macsPerImage(ref.arch, ref.dataset, ref.width);
  return (ref.imagesPerSecond * refMacs) / macsPerImage(p.arch, p.dataset, p.width);
}

/** Estimated cost of an experiment at a protocol. */
export interface CostEstimate {
  readonly runs: number;
  readonly imagesPerSecond: number;
  /** Seconds per run (capped by the protocol's time budget) and in all. */
  readonly secondsPerRun: number;
  readonly seconds: number;
}

/** The estimate for `exp` at protocol `p`. */
export function estimateCost(exp: Experiment, p: ScaleProtocol): CostEstimate {
  const info = datasetInfo(p.dataset);
  const train = p.limitTrain ?? info.counts?.train ?? 0;
  const test = p.limitTest ?? info.counts?.test ?? 0;
  const ips = estimatedThroughput(p);
  let perRun = (p.epochs * (train + test / 3) + test / 3) / ips;
  if (p.timeBudget !== undefined) perRun = Math.min(perRun, p.timeBudget + (2 * test) / 3 / ips);
  const runs = runCount(exp, p);
  return { runs, imagesPerSecond: ips, secondsPerRun: perRun, seconds: runs * perRun };
}

/** A duration for listings: `42 s`, `12 min`, `3.4 h`, `5.1 days`. */
export function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
