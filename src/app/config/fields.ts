/**
 * The command line's view of each configuration field, keyed by the schema's dotted field paths
 * (`config.ts`): its flag, value placeholder, help text and the data sets it applies to, in
 * `--help` order ({@link FIELD_FLAGS}); the fields without a flag, each with why
 * ({@link UNFLAGGED}). Ranges, choices and defaults are not written here: they are read from the
 * schema ({@link fieldRange}, {@link fieldChoices}, `DEFAULT_VALUES`), so a help text never
 * repeats them. `cli/flags.ts` builds the flags, their parsers and `--help` from this table.
 */
import { z } from 'zod';
import { ALWAYS_SATURATES_BELOW, MAX_T, NEVER_SPIKES_ABOVE } from '../../lib/core/config.js';
import { STRICT_READERS } from '../../lib/data/readers/index.js';
import { DATASET_NAMES, dataDirDatasets, type DatasetName } from '../../lib/data/registry.js';
import {
  datasetOptionsSchema,
  rangeOfType,
  runOptionsSchema,
  stcFieldsSchema,
  trainConfigSchema,
  TRAIN_DEFAULTS,
  unwrapped,
  type ConfigValue,
  type TopField,
} from './config.js';

/**
 * A field of the configuration schemas by dotted path: a top-level field, an STC field
 * (`stc.T`), a data-set option (`datasetOptions.frames`) or a run option (`repeats`).
 */
export type FieldPath =
  | TopField
  | `stc.${keyof z.output<typeof stcFieldsSchema> & string}`
  | `datasetOptions.${keyof z.output<typeof datasetOptionsSchema> & string}`
  | (keyof z.output<typeof runOptionsSchema> & string);

/** The blocks of fields, by the top-level field holding them. */
const BLOCKS: Readonly<Record<string, z.ZodObject>> = {
  stc: stcFieldsSchema,
  datasetOptions: datasetOptionsSchema,
};

/** Every field path of the schemas, in the schemas' order (read from them). */
export const FIELD_PATHS: readonly FieldPath[] = Object.freeze([
  ...Object.keys(trainConfigSchema.shape).flatMap((k) =>
    Object.hasOwn(BLOCKS, k) ? Object.keys(BLOCKS[k].shape).map((f) => `${k}.${f}`) : [k],
  ),
  ...Object.keys(runOptionsSchema.shape),
] as FieldPath[]);

/**
 * The fields without a flag, each with the reason: every other field has one (the type of
 * {@link FIELD_FLAGS} requires it, and `fields.test.ts` checks it against the schema).
 */
export const UNFLAGGED = {
  stepEvery: "the step schedule's period: presets set it (paper: 20); --lr-schedule's help shows it",
  stepGamma: "the step schedule's factor: presets set it (paper: 0.5); --lr-schedule's help shows it",
} as const satisfies Partial<Record<FieldPath, string>>;

/** A field that has a flag. */
export type FlaggedPath = Exclude<FieldPath, keyof typeof UNFLAGGED>;

/** How the command line sets one field. */
export interface FieldFlag {
  /** As typed, e.g. `--batch-size`. */
  readonly flag: `--${string}`;
  /** The value's placeholder (`<n>`); absent for a switch (a boolean field). */
  readonly arg?: `<${string}>`;
  /** What it does, in words: no range, choice list or default (rendered from the schema). */
  readonly help: string;
  /** The data sets a data-set option applies to (absent: every data set). */
  readonly datasets?: readonly DatasetName[];
  /** What a switch sets (default `true`). */
  readonly sets?: boolean;
  /**
   * The choices, only where the schema has no enum: the registry's data-set names (the schema
   * takes any name, for the registry's own error).
   */
  readonly choices?: readonly string[];
  /** The range, only where the schema holds none: `stc.T`, which `stcConfig` checks. */
  readonly range?: string;
}

/** The flags of the configuration fields, in `--help` order. */
export const FIELD_FLAGS: { readonly [P in FlaggedPath]: FieldFlag } = {
  dataset: { flag: '--dataset', arg: '<name>', help: 'data set', choices: DATASET_NAMES },
  dataDir: {
    flag: '--data-dir',
    arg: '<dir>',
    help: 'where the data set files are',
    datasets: dataDirDatasets(),
  },
  arch: { flag: '--arch', arg: '<name>', help: 'architecture' },
  mode: { flag: '--mode', arg: '<mode>', help: 'stc (spiking) or ann (the ReLU twin)' },
  width: {
    flag: '--width',
    arg: '<w>',
    help: 'channel width multiplier, e.g. 0.25 for CPU-sized runs',
  },
  'stc.T': {
    flag: '--T',
    arg: '<n>',
    help: 'spike-train length T',
    range: `an integer in 1..${MAX_T}`,
  },
  'stc.theta0': {
    flag: '--theta0',
    arg: '<v>',
    help: `initial threshold (a warning when no batch-normalised input could spike, theta(T-1) > ${NEVER_SPIKES_ABOVE}, or all would saturate, sum theta < ${ALWAYS_SATURATES_BELOW})`,
  },
  'stc.tau': { flag: '--tau', arg: '<v>', help: 'threshold time constant' },
  'stc.schedule': { flag: '--schedule', arg: '<name>', help: 'threshold schedule' },
  'stc.fire': { flag: '--fire', arg: '<test>', help: 'firing test' },
  'stc.gradient': {
    flag: '--gradient',
    arg: '<mask>',
    help: 'equivalent-gradient mask: relu (the paper: 1[x>0]) or clipped (1[0<x<sum theta], zero where STEB saturates)',
  },
  'stc.learnTheta': {
    flag: '--learn-theta',
    arg: '<mode>',
    help: 'train theta0: off (the paper: fixed), per STCB layer, or per input channel (theta0 = exp(log_theta), LSQ/PACT gradient); needs the clipped mask, so --gradient relu alone means off',
  },
  'stc.shift': {
    flag: '--shift',
    arg: '<mode>',
    help: 'where the membrane starts: none (the paper: V(0) = x, the decoded value rounds down) or half (V(0) = x + theta(T-1)/2, rounds to nearest, as QCFS)',
  },
  path: { flag: '--path', arg: '<path>', help: 'STCB forward path' },
  epochs: {
    flag: '--epochs',
    arg: '<n>',
    help: 'epochs (0 only with --init-from: the converted network, evaluated)',
  },
  batchSize: { flag: '--batch-size', arg: '<n>', help: 'batch size' },
  syncBn: {
    flag: '--sync-bn',
    help: "data-parallel runs: batch norm with the global batch's statistics over all ranks (synchronised)",
  },
  lr: { flag: '--lr', arg: '<v>', help: 'initial learning rate' },
  momentum: { flag: '--momentum', arg: '<v>', help: 'SGD momentum' },
  weightDecay: { flag: '--weight-decay', arg: '<v>', help: 'weight decay' },
  nesterov: { flag: '--nesterov', help: 'Nesterov momentum' },
  lrSchedule: {
    flag: '--lr-schedule',
    arg: '<name>',
    help: `cosine (per step, to 0), step (x${TRAIN_DEFAULTS.stepGamma} every ${TRAIN_DEFAULTS.stepEvery} epochs) or constant`,
  },
  augment: { flag: '--augment', arg: '<mode>', help: "auto (the data set's crop/flip) or none" },
  seed: { flag: '--seed', arg: '<n>', help: 'seed for initialisation, shuffling and augmentation' },
  repeats: {
    flag: '--repeats',
    arg: '<n>',
    help: 'train N seeds (seed, seed+1, ...) and report mean, stddev and best',
  },
  limitTrain: { flag: '--limit-train', arg: '<n>', help: 'use the first N training samples' },
  limitTest: { flag: '--limit-test', arg: '<n>', help: 'use the first N test samples' },
  timeBudget: {
    flag: '--time-budget',
    arg: '<s>',
    help: "stop before an epoch that would take the run's training time (counted over resumes) past this many seconds; the run is then recorded as stopped (result.json: stopped_by) and --resume continues it",
  },
  initFrom: {
    flag: '--init-from',
    arg: '<source>',
    help: "ANN-to-STC conversion: start from this ANN (run directory, .safetensors model or PyTorch state dict) of the same arch and width, or re-encode an STC network at this run's T; learned thresholds (--learn-theta layer|channel) are calibrated from its activations; --epochs 0 evaluates the converted network",
  },
  distillFrom: {
    flag: '--distill-from',
    arg: '<source>',
    help: "knowledge distillation: also learn from this trained network's softened outputs (run directory or .safetensors model; any arch, the same inputs and classes), loss (1 - alpha) CE + alpha tau^2 KL",
  },
  distillAlpha: {
    flag: '--distill-alpha',
    arg: '<a>',
    help: "weight of the teacher's term (default 0.5); with --distill-from",
  },
  distillTemperature: {
    flag: '--distill-temperature',
    arg: '<tau>',
    help: "softmax temperature of the teacher's term (default 4); with --distill-from",
  },
  // data-set options
  'datasetOptions.labels': {
    flag: '--labels',
    arg: '<kind>',
    help: 'CIFAR-100 labels',
    datasets: ['cifar100'],
  },
  'datasetOptions.frames': {
    flag: '--frames',
    arg: '<F>',
    help: 'CIFAR10-DVS: frames per sample (stacked as channels)',
    datasets: ['cifar10-dvs'],
  },
  'datasetOptions.size': {
    flag: '--resize',
    arg: '<n>',
    help: 'CIFAR10-DVS frames or imagefolder images: resize to n x n',
    datasets: ['cifar10-dvs', 'imagefolder'],
  },
  'datasetOptions.channels': {
    flag: '--channels',
    arg: '<n>',
    help: 'imagefolder: 3 (RGB) or 1 (BT.601 luminance)',
    datasets: ['imagefolder'],
  },
  'datasetOptions.testFraction': {
    flag: '--test-fraction',
    arg: '<f>',
    help: 'imagefolder, CIFAR10-DVS: share of each class in the test split (no train/test folders)',
    datasets: ['cifar10-dvs', 'imagefolder'],
  },
  'datasetOptions.cacheDir': {
    flag: '--cache-dir',
    arg: '<dir>',
    help: 'CIFAR archives extracted, CIFAR10-DVS frames: where (default $STCSNN_CACHE or ~/.cache/stcsnn)',
    datasets: ['cifar10', 'cifar100', 'cifar10-dvs'],
  },
  'datasetOptions.strict': {
    flag: '--subset',
    help: 'accept a subset of the data set (fewer files or images than the official counts, same format); refused otherwise',
    datasets: STRICT_READERS,
    sets: false,
  },
};

/** The flag of a field, if it has one. */
export function flagOf(path: string): FieldFlag | undefined {
  return Object.hasOwn(FIELD_FLAGS, path) ? FIELD_FLAGS[path as FlaggedPath] : undefined;
}

/** The schema of a field, without its optional and default wrappers. */
export function fieldSchema(path: FieldPath): z.core.$ZodType {
  const dot = path.indexOf('.');
  const [block, field] = dot < 0 ? [undefined, path] : [path.slice(0, dot), path.slice(dot + 1)];
  const parent =
    block !== undefined
      ? BLOCKS[block]
      : Object.hasOwn(trainConfigSchema.shape, field)
        ? trainConfigSchema
        : runOptionsSchema;
  return unwrapped((parent.shape as Record<string, z.core.$ZodType>)[field]);
}

/** The allowed range of a number field as text (`an integer in 1..64`, `in (0, 4]`), if any. */
export function fieldRange(path: FieldPath): string | undefined {
  return flagOf(path)?.range ?? rangeOfType(fieldSchema(path));
}

/** The values a field may take, where they are a list: the schema's enum or literals. */
export function fieldChoices(path: FieldPath): readonly ConfigValue[] | undefined {
  const explicit = flagOf(path)?.choices;
  if (explicit) return explicit;
  const def = fieldSchema(path)._zod.def as {
    type: string;
    entries?: Record<string, string>;
    values?: readonly ConfigValue[];
  };
  if (def.type === 'enum' && def.entries) return Object.values(def.entries);
  if (def.type === 'literal' && def.values) return def.values;
  return undefined;
}

/** Whether `value` is a valid value of the field (its schema's checks pass). */
export function fieldAccepts(path: FieldPath, value: ConfigValue): boolean {
  return z.safeParse(fieldSchema(path), value).success;
}
