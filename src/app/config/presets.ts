/**
 * Named presets of `stcsnn train --preset NAME`, and the paper's protocol table they come from.
 *
 * A preset sets configuration values per data set; a flag the user gives wins over a preset,
 * a preset over the data set's defaults (theta0), those over the schema's defaults
 * (`resolve.ts`).
 */
import { ConfigError, DEFAULT_STC } from '../../lib/core/config.js';
import type { DatasetName } from '../../lib/data/registry.js';
import type { AugmentMode, ConfigValues } from './config.js';
import type { LrScheduleName } from './lr-schedule.js';

/**
 * The paper's training protocol for one data set (§4.2 and Table 1). Its theta0 is the data
 * set's default in the registry (0.8 for static images, 2 for CIFAR10-DVS), not repeated here.
 */
export interface PaperProtocol {
  /** Table 1: Fashion-MNIST 100, CIFAR-10/100 300, TinyImageNet 200, CIFAR10-DVS 50 (§4.3 confirms 50; the rest is read from a damaged table). */
  readonly epochs: number;
  readonly batchSize: number;
  /** SGD; the paper's learning rate, momentum and weight decay are lost: 0.1, 0.9, 5e-4 assumed. */
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** `step`: x `stepGamma` every `stepEvery` epochs (Fashion-MNIST: halved every 20); else cosine to 0. */
  readonly lrSchedule: LrScheduleName;
  readonly stepEvery: number;
  readonly stepGamma: number;
  /** Spike-train length and threshold time constant. */
  readonly T: number;
  readonly tau: number;
  /** The networks at their published width. */
  readonly width: number;
  /** `auto`: the data set's random crop + flip (none for CIFAR10-DVS). */
  readonly augment: AugmentMode;
  /** Runs (seeds) reported as mean, standard deviation and best. */
  readonly repeats: number;
}

/** What every data set of the paper shares. */
const SHARED = {
  batchSize: 32,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  nesterov: false,
  stepEvery: 20,
  stepGamma: 0.5,
  T: 8,
  tau: 2,
  width: 1,
  augment: 'auto',
  repeats: 5,
} as const;

const FASHION_MNIST: PaperProtocol = { ...SHARED, epochs: 100, lrSchedule: 'step' };

/** The data sets of the paper. */
export type PaperDataset = Exclude<DatasetName, 'imagefolder'>;

/** The paper's protocol per data set (the embedded Fashion-MNIST subset takes Fashion-MNIST's). */
export const PAPER_PROTOCOL: Readonly<Record<PaperDataset, PaperProtocol>> = {
  'fashion-mnist-mini': FASHION_MNIST,
  'fashion-mnist': FASHION_MNIST,
  cifar10: { ...SHARED, epochs: 300, lrSchedule: 'cosine' },
  cifar100: { ...SHARED, epochs: 300, lrSchedule: 'cosine' },
  tinyimagenet: { ...SHARED, epochs: 200, lrSchedule: 'cosine' },
  'cifar10-dvs': { ...SHARED, epochs: 50, lrSchedule: 'cosine' },
};

/**
 * A protocol as configuration values, with the paper's training method: its ReLU equivalent
 * gradient and fixed thresholds (the core's `DEFAULT_STC`), whatever the trainer's default.
 */
export function protocolValues(p: PaperProtocol): ConfigValues {
  const { T, tau, ...top } = p;
  return {
    ...top,
    'stc.T': T,
    'stc.tau': tau,
    'stc.gradient': DEFAULT_STC.gradient,
    'stc.learnTheta': DEFAULT_STC.learnTheta,
  };
}

/**
 * The CPU budget: what fits about 15 minutes on 2 cores with the native backend (README:
 * Fashion-MNIST, VGG11 width 0.25, T=8, 22 epochs in 785 s). VGG11 at width 0.25, 20 epochs
 * with the cosine schedule (a step schedule barely decays in 20 epochs), a 900 s time budget
 * (training stops after the epoch that would exceed it), one run; the rest as the defaults.
 */
export const CPU_BUDGET: ConfigValues = {
  arch: 'vgg11',
  width: 0.25,
  epochs: 20,
  lrSchedule: 'cosine',
  timeBudget: 900,
  repeats: 1,
};

/** A named preset. */
export interface Preset {
  /** One line for `--help`. */
  readonly description: string;
  /** The data sets it covers (`all`: every one). */
  readonly datasets: readonly string[] | 'all';
  /** The configuration values for a data set it covers. */
  values(dataset: string): ConfigValues;
}

/** The presets by name. */
export const PRESETS = {
  paper: {
    description:
      "the paper's protocol for the data set: its epochs and lr schedule, batch 32, SGD, T 8, tau 2, width 1, 5 repeats, the ReLU equivalent gradient with fixed thresholds",
    datasets: Object.keys(PAPER_PROTOCOL),
    /** The paper's protocol for `dataset` (a key of {@link PAPER_PROTOCOL}). */
    values: (dataset) => protocolValues(PAPER_PROTOCOL[dataset as PaperDataset]),
  },
  cpu: {
    description: 'a CPU budget: VGG11 width 0.25, 20 epochs, cosine, stop after 900 s, 1 run',
    datasets: 'all',
    /** The CPU budget, the same for every data set. */
    values: () => CPU_BUDGET,
  },
} as const satisfies Record<string, Preset>;

/** A preset's name. */
export type PresetName = keyof typeof PRESETS;

/** The preset names. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/**
 * The values preset `name` sets for `dataset`.
 * @throws ConfigError for an unknown preset or a data set the preset does not cover
 */
export function presetValues(name: string, dataset: string): ConfigValues {
  if (!Object.hasOwn(PRESETS, name))
    throw new ConfigError(`unknown preset '${name}'; known: ${PRESET_NAMES.join(', ')}`);
  const preset: Preset = PRESETS[name as PresetName];
  if (preset.datasets !== 'all' && !preset.datasets.includes(dataset)) {
    throw new ConfigError(
      `preset ${name} does not cover data set ${dataset} (it covers ${preset.datasets.join(', ')})`,
    );
  }
  return preset.values(dataset);
}
