/**
 * What an experiment costs at a scale, estimated from training throughputs measured on the 2-core
 * development machine with the native backend, scaled by the network's multiply-accumulates
 * (from its plan): `stcsnn reproduce --list`.
 *
 * A protocol is estimated from the measurement nearest to it ({@link nearestThroughput}: the same
 * architecture and data set, else the same data set, else the same architecture, else the first)
 * as `measured images/s * measured MACs / MACs` (a convolution's time is close to proportional to
 * its MACs on a CPU; across architectures and input sizes the fixed costs per image are not, which
 * is why the measurements cover each data set), evaluation as a third of a training step per image.
 * Estimates, not promises: a GPU divides them by 10-100.
 */
import { layersFor } from '../analysis/network.js';
import { datasetInfo } from '../../lib/data/registry.js';
import type { Arch } from '../../lib/nn/arch-config.js';
import { weightMacs } from '../../lib/nn/plan.js';
import type { Experiment, ScaleProtocol } from './experiments.js';
import { runCount } from './runner.js';

/** A measured training throughput. */
export interface Throughput {
  readonly arch: Arch;
  readonly width: number;
  readonly dataset: string;
  readonly T: number;
  /** Training images per second of the whole machine (both runs of a pair together). */
  readonly imagesPerSecond: number;
  /** How and where it was measured. */
  readonly measured: string;
}

const MACHINE = 'native backend (libtorch 1.13.1 CPU), 2-core Xeon (KVM)';
const PAIR = `STC network and its ANN twin side by side at --threads 1, whole runs, both together; ${MACHINE}`;
const SWEEPS = `the T = 8 points of two STC sweeps side by side at --threads 1, both together; ${MACHINE}`;

/**
 * The measurements: `images_per_second` of the runs' `result.json` (the runs of `docs/results/`),
 * summed over the two runs that shared the machine.
 */
export const MEASURED_THROUGHPUTS: readonly Throughput[] = [
  { arch: 'vgg16', width: 0.25, dataset: 'cifar10', T: 8, imagesPerSecond: 1080, measured: PAIR },
  { arch: 'resnet18', width: 0.25, dataset: 'cifar10', T: 8, imagesPerSecond: 660, measured: PAIR },
  { arch: 'vgg11', width: 0.25, dataset: 'fashion-mnist', T: 8, imagesPerSecond: 3350, measured: SWEEPS },
];

/** Multiply-accumulates per image of a network (weights only: convolutions and the head). */
export function macsPerImage(arch: string, dataset: string, width: number): number {
  return layersFor({ arch, dataset, width, T: 8 }).reduce((a, l) => a + weightMacs(l), 0);
}

/** The measurement a protocol is estimated from (see the module comment). */
export function nearestThroughput(
  p: Pick<ScaleProtocol, 'arch' | 'dataset'>,
  measured: readonly Throughput[] = MEASURED_THROUGHPUTS,
): Throughput {
  const by = (f: (m: Throughput) => boolean) => measured.find(f);
  const m =
    by((m) => m.arch === p.arch && m.dataset === p.dataset) ??
    by((m) => m.dataset === p.dataset) ??
    by((m) => m.arch === p.arch) ??
    measured[0];
  if (!m) throw new Error('no measured throughput to estimate from');
  return m;
}

/** Estimated training images per second of a protocol on the measuring machine. */
export function estimatedThroughput(
  p: ScaleProtocol,
  measured: readonly Throughput[] = MEASURED_THROUGHPUTS,
): number {
  const ref = nearestThroughput(p, measured);
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
