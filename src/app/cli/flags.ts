/**
 * The one table of `stcsnn train`'s configuration flags: each flag as typed, the configuration
 * path it sets, its parser, help text, choices and (for data-set options) the data sets it
 * applies to. Commander's options (for `train` and the options `sweep` inherits), the
 * `--resume` refusal list, the data-set-flag check and the flags-to-values step derive from it.
 *
 * Commander fills no defaults for these flags (a preset could never apply otherwise) and checks
 * no choices (the parsers do, with one message style); `--help` shows the choices and the
 * schema's defaults in the help text. Ranges of configuration fields live in the
 * schema (`train/config.ts`), ranges of data-set options here.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  ALWAYS_SATURATES_BELOW,
  FIRE_TESTS,
  GRADIENT_MASKS,
  LEARN_THETA_MODES,
  NEVER_SPIKES_ABOVE,
  THRESHOLD_SCHEDULES,
} from '../../lib/core/config.js';
import { STC_PATHS } from '../../lib/core/stcb.js';
import { CIFAR100_LABELS, STRICT_READERS } from '../../lib/data/readers/index.js';
import { DATASET_NAMES, dataDirDatasets, datasetInfo, type DatasetName } from '../../lib/data/registry.js';
import { NET_MODES } from '../../lib/nn/layers.js';
import { ARCHS } from '../../lib/nn/models.js';
import {
  AUGMENT_MODES,
  DEFAULT_VALUES,
  rangeOf,
  runOptionsSchema,
  TRAIN_DEFAULTS,
  type ConfigPath,
  type ConfigValue,
  type ConfigValues,
  RESUME_MAY_CHANGE,
  RESUME_OVERRIDES,
} from '../config/config.js';
import { LR_SCHEDULES } from '../config/lr-schedule.js';
import { PRESET_NAMES, PRESETS } from '../config/presets.js';
import { resolveTrainConfig, type ResolvedConfig } from '../config/resolve.js';
import { UsageError } from './errors.js';
import { outOfRange, parseChoice, parseDecimalInteger, parseInteger, parseNumber } from './options.js';

/** One configuration flag. */
export interface ConfigFlag {
  /** As typed, e.g. `--batch-size`. */
  readonly flag: `--${string}`;
  /** The value's placeholder (`<n>`); absent for a switch. */
  readonly arg?: `<${string}>`;
  /** The configuration path it sets. */
  readonly path: ConfigPath;
  readonly help: string;
  readonly choices?: readonly string[];
  /** The data sets a data-set option applies to (absent: every data set). */
  readonly datasets?: readonly DatasetName[];
  /** The value from the typed text (`true` for a switch). @throws UsageError naming the flag */
  readonly parse: (raw: string | true) => ConfigValue;
}

const text = (raw: string | true): string => (raw === true ? '' : raw);
const num = (flag: string) => (raw: string | true) => parseNumber(flag, text(raw));
/**
 * Whether a configuration path holds an integer (the schema says so; `stc.T` is checked by
 * `stcConfig`, an integer in 1..MAX_T): its flag takes decimal digits only, so that `--T 0x10`
 * or `--epochs 1e1` is refused rather than read by `Number()`.
 */
function isIntegerPath(path: ConfigPath): boolean {
  if (path === 'stc.T') return true;
  const range = rangeOf(path) ?? rangeOf(path, runOptionsSchema);
  return range !== undefined && range.startsWith('an integer');
}
const choice = (flag: string, choices: readonly string[]) => (raw: string | true) =>
  parseChoice(flag, text(raw), choices);

/** The configuration flags of `stcsnn train`, in `--help` order. */
export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  {
    flag: '--dataset',
    arg: '<name>',
    path: 'dataset',
    help: 'data set',
    choices: DATASET_NAMES,
    parse: choice('--dataset', DATASET_NAMES),
  },
  {
    flag: '--data-dir',
    arg: '<dir>',
    path: 'dataDir',
    help: 'where the data set files are',
    datasets: dataDirDatasets(),
    parse: text,
  },
  {
    flag: '--arch',
    arg: '<name>',
    path: 'arch',
    help: 'architecture',
    choices: ARCHS,
    parse: choice('--arch', ARCHS),
  },
  {
    flag: '--mode',
    arg: '<mode>',
    path: 'mode',
    help: 'stc (spiking) or ann (the ReLU twin)',
    choices: NET_MODES,
    parse: choice('--mode', NET_MODES),
  },
  {
    flag: '--width',
    arg: '<w>',
    path: 'width',
    help: 'channel width multiplier in (0, 4], e.g. 0.25 for CPU-sized runs',
    parse: num('--width'),
  },
  { flag: '--T', arg: '<n>', path: 'stc.T', help: 'spike-train length T (1..64)', parse: num('--T') },
  {
    flag: '--theta0',
    arg: '<v>',
    path: 'stc.theta0',
    help: `initial threshold (a warning when no batch-normalised input could spike, theta(T-1) > ${NEVER_SPIKES_ABOVE}, or all would saturate, sum theta < ${ALWAYS_SATURATES_BELOW})`,
    parse: num('--theta0'),
  },
  { flag: '--tau', arg: '<v>', path: 'stc.tau', help: 'threshold time constant', parse: num('--tau') },
  {
    flag: '--schedule',
    arg: '<name>',
    path: 'stc.schedule',
    help: 'threshold schedule',
    choices: THRESHOLD_SCHEDULES,
    parse: choice('--schedule', THRESHOLD_SCHEDULES),
  },
  {
    flag: '--fire',
    arg: '<test>',
    path: 'stc.fire',
    help: 'firing test',
    choices: FIRE_TESTS,
    parse: choice('--fire', FIRE_TESTS),
  },
  {
    flag: '--gradient',
    arg: '<mask>',
    path: 'stc.gradient',
    help: 'equivalent-gradient mask: relu (the paper: 1[x>0]) or clipped (1[0<x<sum theta], zero where STEB saturates)',
    choices: GRADIENT_MASKS,
    parse: choice('--gradient', GRADIENT_MASKS),
  },
  {
    flag: '--learn-theta',
    arg: '<mode>',
    path: 'stc.learnTheta',
    help: 'train theta0: off (the paper: fixed), per STCB layer, or per input channel (theta0 = exp(log_theta), LSQ/PACT gradient); needs the clipped mask, so --gradient relu alone means off',
    choices: LEARN_THETA_MODES,
    parse: choice('--learn-theta', LEARN_THETA_MODES),
  },
  {
    flag: '--path',
    arg: '<path>',
    path: 'path',
    help: 'STCB forward path',
    choices: STC_PATHS,
    parse: choice('--path', STC_PATHS),
  },
  { flag: '--epochs', arg: '<n>', path: 'epochs', help: 'epochs', parse: num('--epochs') },
  { flag: '--batch-size', arg: '<n>', path: 'batchSize', help: 'batch size', parse: num('--batch-size') },
  {
    flag: '--sync-bn',
    path: 'syncBn',
    help: "data-parallel runs: batch norm with the global batch's statistics over all ranks (synchronised)",
    parse: () => true,
  },
  { flag: '--lr', arg: '<v>', path: 'lr', help: 'initial learning rate', parse: num('--lr') },
  { flag: '--momentum', arg: '<v>', path: 'momentum', help: 'SGD momentum', parse: num('--momentum') },
  {
    flag: '--weight-decay',
    arg: '<v>',
    path: 'weightDecay',
    help: 'weight decay',
    parse: num('--weight-decay'),
  },
  { flag: '--nesterov', path: 'nesterov', help: 'Nesterov momentum', parse: () => true },
  {
    flag: '--lr-schedule',
    arg: '<name>',
    path: 'lrSchedule',
    help: `cosine (per step, to 0), step (x${TRAIN_DEFAULTS.stepGamma} every ${TRAIN_DEFAULTS.stepEvery} epochs) or constant`,
    choices: LR_SCHEDULES,
    parse: choice('--lr-schedule', LR_SCHEDULES),
  },
  {
    flag: '--augment',
    arg: '<mode>',
    path: 'augment',
    help: "auto (the data set's crop/flip) or none",
    choices: AUGMENT_MODES,
    parse: choice('--augment', AUGMENT_MODES),
  },
  {
    flag: '--seed',
    arg: '<n>',
    path: 'seed',
    help: 'seed for initialisation, shuffling and augmentation',
    parse: num('--seed'),
  },
  {
    flag: '--repeats',
    arg: '<n>',
    path: 'repeats',
    help: 'train N seeds (seed, seed+1, ...) and report mean, stddev and best',
    parse: num('--repeats'),
  },
  {
    flag: '--limit-train',
    arg: '<n>',
    path: 'limitTrain',
    help: 'use the first N training samples',
    parse: num('--limit-train'),
  },
  {
    flag: '--limit-test',
    arg: '<n>',
    path: 'limitTest',
    help: 'use the first N test samples',
    parse: num('--limit-test'),
  },
  {
    flag: '--time-budget',
    arg: '<s>',
    path: 'timeBudget',
    help: 'stop at the end of the epoch that would exceed this many seconds',
    parse: num('--time-budget'),
  },
  // data-set options
  {
    flag: '--labels',
    arg: '<kind>',
    path: 'datasetOptions.labels',
    help: 'CIFAR-100 labels',
    choices: CIFAR100_LABELS,
    datasets: ['cifar100'],
    parse: choice('--labels', CIFAR100_LABELS),
  },
  {
    flag: '--frames',
    arg: '<F>',
    path: 'datasetOptions.frames',
    help: 'CIFAR10-DVS: frames per sample (stacked as channels), 1..64',
    datasets: ['cifar10-dvs'],
    parse: (raw) => parseInteger('--frames', text(raw), 1, 64),
  },
  {
    flag: '--resize',
    arg: '<n>',
    path: 'datasetOptions.size',
    help: 'CIFAR10-DVS frames or imagefolder images: resize to n x n (4..1024)',
    datasets: ['cifar10-dvs', 'imagefolder'],
    parse: (raw) => parseInteger('--resize', text(raw), 4, 1024),
  },
  {
    flag: '--channels',
    arg: '<n>',
    path: 'datasetOptions.channels',
    help: 'imagefolder: 3 (RGB) or 1 (BT.601 luminance)',
    choices: ['1', '3'],
    datasets: ['imagefolder'],
    parse: (raw) => Number(parseChoice('--channels', text(raw), ['1', '3'])),
  },
  {
    flag: '--test-fraction',
    arg: '<f>',
    path: 'datasetOptions.testFraction',
    help: 'imagefolder, CIFAR10-DVS: share of each class in the test split (no train/test folders), in (0, 1)',
    datasets: ['cifar10-dvs', 'imagefolder'],
    parse: (raw) => {
      const v = parseNumber('--test-fraction', text(raw));
      if (!(v > 0 && v < 1)) throw outOfRange('--test-fraction', 'in (0, 1)', text(raw));
      return v;
    },
  },
  {
    flag: '--cache-dir',
    arg: '<dir>',
    path: 'datasetOptions.cacheDir',
    help: 'CIFAR archives extracted, CIFAR10-DVS frames: where (default $STCSNN_CACHE or ~/.cache/stcsnn)',
    datasets: ['cifar10', 'cifar100', 'cifar10-dvs'],
    parse: (raw) => resolve(text(raw)),
  },
  {
    flag: '--subset',
    path: 'datasetOptions.strict',
    help: 'accept a subset of the data set (fewer files or images than the official counts, same format); refused otherwise',
    datasets: STRICT_READERS,
    parse: () => false,
  },
];

/** Commander's attribute name of a flag (`--batch-size` -> `batchSize`, `--T` -> `T`). */
export function attributeOf(f: ConfigFlag): string {
  return new Option(f.flag).attributeName();
}

const BY_PATH = new Map<string, ConfigFlag>(CONFIG_FLAGS.map((f) => [f.path, f]));

/** The flag that sets `path` (its name for error messages), or the path itself. */
export function flagOfPath(path: string): string {
  return BY_PATH.get(path)?.flag ?? path;
}

/** The schema's default of `path` for `--help`, or undefined when it has none worth showing. */
function defaultText(path: ConfigPath): string | undefined {
  if (path === 'stc.theta0') {
    const other = DATASET_NAMES.filter((d) => datasetInfo(d).theta0 !== TRAIN_DEFAULTS.stc.theta0);
    return `the data set's: ${TRAIN_DEFAULTS.stc.theta0}${other.map((d) => `; ${datasetInfo(d).theta0} for ${d}`).join('')}`;
  }
  const d = DEFAULT_VALUES[path];
  return d === undefined || typeof d === 'boolean' ? undefined : String(d);
}

/** The commander option of a table entry: help with applicability, choices and default; no default filled. */
export function optionOf(f: ConfigFlag): Option {
  const dflt = defaultText(f.path);
  const only = f.datasets ? ` [${f.datasets.join(', ')} only]` : '';
  const choices = f.choices ? ` (choices: ${f.choices.join(', ')})` : '';
  return new Option(
    `${f.flag}${f.arg ? ` ${f.arg}` : ''}`,
    `${f.help}${only}${choices}${dflt ? ` (default: ${dflt})` : ''}`,
  );
}

/** The `--preset` option. */
export function presetOption(): Option {
  const list = PRESET_NAMES.map((n) => `${n}: ${PRESETS[n].description}`).join('; ');
  return new Option(
    '--preset <name>',
    `set values of a named preset (a flag given beside it wins): ${list}`,
  ).choices(PRESET_NAMES);
}

/** Adds the configuration options to `cmd`, except those setting a path in `except`. */
export function addConfigOptions(cmd: Command, except: readonly ConfigPath[] = []): Command {
  for (const f of CONFIG_FLAGS) if (!except.includes(f.path)) cmd.addOption(optionOf(f));
  return cmd;
}

/**
 * The attribute names of every flag that changes what defines a run (refused with `--resume`):
 * all configuration flags but those of `RESUME_MAY_CHANGE` (`--epochs` extends a run,
 * `--time-budget`, `--data-dir`) and `RESUME_OVERRIDES` (`--lr`), and `--preset`, `--out`.
 */
export const RESUME_REFUSED: readonly string[] = [
  ...CONFIG_FLAGS.filter(
    (f) => !RESUME_MAY_CHANGE.includes(f.path) && !RESUME_OVERRIDES.includes(f.path),
  ).map(attributeOf),
  'preset',
  'out',
];

/** Parsed command-line flags, by commander's attribute names. */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/**
 * The configuration values the user gave on the command line; data-set options are checked
 * against `--dataset`, else against `datasetOfRun` (a resumed run's), else the default data set.
 * @throws UsageError for a malformed value, or a data-set option for a data set it does not apply to
 */
export function givenValues(flags: FlagValues, datasetOfRun?: string): ConfigValues {
  const given = (f: ConfigFlag) => {
    const raw = flags[attributeOf(f)];
    return raw === undefined || raw === false ? undefined : raw;
  };
  const datasetFlag = BY_PATH.get('dataset') as ConfigFlag;
  const rawDataset = given(datasetFlag);
  const dataset =
    rawDataset !== undefined
      ? String(datasetFlag.parse(rawDataset))
      : (datasetOfRun ?? TRAIN_DEFAULTS.dataset);
  for (const f of CONFIG_FLAGS) {
    if (f.datasets && given(f) !== undefined && !(f.datasets as readonly string[]).includes(dataset)) {
      const why =
        f.path === 'dataDir' && datasetInfo(dataset).embedded
          ? ' (it is embedded in the package and reads no directory)'
          : '';
      throw new UsageError(`${f.flag} applies to ${f.datasets.join(', ')}, not ${dataset}${why}`);
    }
  }
  const out: Record<string, ConfigValue> = {};
  for (const f of CONFIG_FLAGS) {
    const raw = given(f);
    if (raw === undefined) continue;
    if (isIntegerPath(f.path)) parseDecimalInteger(f.flag, text(raw));
    out[f.path] = f.parse(raw);
  }
  return out as ConfigValues;
}

/**
 * The configuration the flags ask for: flag > `--preset` > the data set's defaults > the
 * schema's defaults, with each value's source.
 */
export function configFromFlags(flags: FlagValues): ResolvedConfig {
  const given = givenValues(flags);
  const preset =
    flags.preset === undefined ? undefined : parseChoice('--preset', String(flags.preset), PRESET_NAMES);
  return resolveTrainConfig({ given, preset, nameOf: flagOfPath });
}
