/**
 * Named presets of `stcsnn train --preset NAME`, and the paper's protocol table they come from.
 *
 * A preset sets configuration values per data set; a flag the user gives wins over a preset,
 * a preset over the data set's defaults (theta0), those over the schema's defaults
 * (`resolve.ts`).
 */
import { ConfigError, STC_DEFAULTS, type StcConfig } from '../../lib/core/config.js';
import { DATASET_NAMES, type DatasetName } from '../../lib/data/registry.js';
import type { ConfigValue, ConfigValues, RunOptions, TrainConfig } from './config.js';
import { FIELD_PATHS, flagOf, type FieldPath } from './fields.js';

/**
 * The paper's training protocol for one data set (§4.2 and Table 1): configuration fields.
 * Its theta0 is the data set's default in the registry (0.8 for static images, 2 for
 * CIFAR10-DVS), not repeated here.
 *
 * - `epochs` (Table 1): Fashion-MNIST 100, CIFAR-10/100 300, TinyImageNet 200, CIFAR10-DVS 50
 *   (§4.3 confirms 50; the rest is read from a damaged table);
 * - SGD: the paper's learning rate, momentum and weight decay are lost: 0.1, 0.9, 5e-4 assumed;
 * - `lrSchedule` `step`: x `stepGamma` every `stepEvery` epochs (Fashion-MNIST: halved every
 *   20); else cosine to 0;
 * - `T`, `tau`: spike-train length and threshold time constant; `width`: the networks at their
 *   published width; `augment` `auto`: the data set's random crop + flip (none for CIFAR10-DVS);
 * - `repeats`: runs (seeds) reported as mean, standard deviation and best.
 */
export type PaperProtocol = Pick<
  TrainConfig,
  | 'epochs'
  | 'batchSize'
  | 'lr'
  | 'momentum'
  | 'weightDecay'
  | 'nesterov'
  | 'lrSchedule'
  | 'stepEvery'
  | 'stepGamma'
  | 'width'
  | 'augment'
> &
  Pick<StcConfig, 'T' | 'tau'> &
  Pick<RunOptions, 'repeats'>;

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
 * gradient and fixed thresholds (`STC_DEFAULTS.paper`), whatever the trainer's default.
 */
export function protocolValues(p: PaperProtocol): ConfigValues {
  const { T, tau, ...top } = p;
  return {
    ...top,
    'stc.T': T,
    'stc.tau': tau,
    'stc.gradient': STC_DEFAULTS.paper.gradient,
    'stc.learnTheta': STC_DEFAULTS.paper.learnTheta,
  };
}

/**
 * The CPU budget: what fits about 15 minutes on 2 cores with the native backend (docs/bench.md:
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
  /** What it is, in words; `--help` adds its values ({@link presetDescription}). */
  readonly summary: string;
  /** The data sets it covers (`all`: every one). */
  readonly datasets: readonly string[] | 'all';
  /** The configuration values for a data set it covers. */
  values(dataset: string): ConfigValues;
}

/** The presets by name. */
export const PRESETS = {
  paper: {
    summary: "the paper's protocol for the data set (SGD)",
    datasets: Object.keys(PAPER_PROTOCOL),
    /** The paper's protocol for `dataset` (a key of {@link PAPER_PROTOCOL}). */
    values: (dataset) => protocolValues(PAPER_PROTOCOL[dataset as PaperDataset]),
  },
  cpu: {
    summary: 'a CPU budget',
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

/** A value in a description: `--epochs 100`, `--nesterov`, `no --nesterov`, `stepEvery 20`. */
function valueText(path: string, v: ConfigValue): string {
  const name = flagOf(path)?.flag ?? path;
  if (typeof v === 'boolean') return v ? name : `no ${name}`;
  return `${name} ${String(v)}`;
}

/**
 * A preset for `--help`: its summary and the values it sets, by flag (by path where a field has
 * none), in the schema's order; a value that differs between data sets with the data sets of
 * each: `--epochs 100 (fashion-mnist-mini, fashion-mnist) / 300 (cifar10, cifar100) / ...`.
 */
export function presetDescription(name: PresetName): string {
  const preset: Preset = PRESETS[name];
  const datasets = preset.datasets === 'all' ? DATASET_NAMES : preset.datasets;
  const values = datasets.map((d) => preset.values(d) as Readonly<Record<string, ConfigValue>>);
  const order = (p: string) => {
    const i = FIELD_PATHS.indexOf(p as FieldPath);
    return i < 0 ? FIELD_PATHS.length : i;
  };
  const paths = [...new Set(values.flatMap((v) => Object.keys(v)))].sort((a, b) => order(a) - order(b));
  const parts = paths.map((path) => {
    const groups = new Map<ConfigValue, string[]>();
    datasets.forEach((d, i) => {
      const v = values[i][path];
      if (v !== undefined) groups.set(v, [...(groups.get(v) ?? []), d]);
    });
    const entries = [...groups.entries()];
    if (entries.length === 1 && entries[0][1].length === datasets.length)
      return valueText(path, entries[0][0]);
    const name = flagOf(path)?.flag ?? path;
    return `${name} ${entries.map(([v, ds]) => `${String(v)} (${ds.join(', ')})`).join(' / ')}`;
  });
  return `${preset.summary}: ${parts.join(', ')}`;
}
