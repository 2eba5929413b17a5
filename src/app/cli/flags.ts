/**
 * The configuration flags of `stcsnn train`, built from the fields' table (`config/fields.ts`:
 * flag, placeholder, help, data sets) and the schema (type, range, choices, default): each
 * flag's parser and `--help` text. Commander's options (for `train` and the options `sweep`
 * inherits), the `--resume` refusal list, the data-set-flag check and the flags-to-values step
 * derive from {@link CONFIG_FLAGS}.
 *
 * Commander fills no defaults for these flags (a preset could never apply otherwise) and checks
 * no choices (the parsers do, with one message style); `--help` shows the range, the choices and
 * the schema's default of each. A configuration field's range is checked when the configuration
 * is resolved (`config/resolve.ts`); a data-set option's here, since a configuration's
 * `datasetOptions` is an open record.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DATASET_NAMES, datasetInfo } from '../../lib/data/registry.js';
import { GRADIENT_MASKS } from '../../lib/core/config.js';
import {
  DEFAULT_VALUES,
  trainerStc,
  TRAIN_DEFAULTS,
  type ConfigPath,
  type ConfigValue,
  type ConfigValues,
  RESUME_MAY_CHANGE,
  RESUME_OVERRIDES,
} from '../config/config.js';
import {
  FIELD_FLAGS,
  fieldAccepts,
  fieldChoices,
  fieldRange,
  fieldSchema,
  type FieldFlag,
  type FlaggedPath,
} from '../config/fields.js';
import { PRESET_NAMES, presetDescription } from '../config/presets.js';
import { resolveTrainConfig, type ResolvedConfig } from '../config/resolve.js';
import { UsageError } from './errors.js';
import { outOfRange, parseChoice, parseDecimalInteger, parseNumber } from './options.js';

/** One configuration flag: a field's entry of `FIELD_FLAGS`, with what the schema says of it. */
export interface ConfigFlag extends FieldFlag {
  /** The configuration path it sets. */
  readonly path: FlaggedPath;
  /** The values it takes, where they are a list (the schema's enum or literals). */
  readonly choices?: readonly string[];
  /** Its range as text (`an integer in 1..64`), for a number field with one. */
  readonly range?: string;
  /** The value from the typed text (`true` for a switch). @throws UsageError naming the flag */
  readonly parse: (raw: string | true) => ConfigValue;
}

/** Flags whose value is a path, recorded absolute (the run may be resumed elsewhere). */
const ABSOLUTE_PATHS: readonly FlaggedPath[] = ['datasetOptions.cacheDir'];

const text = (raw: string | true): string => (raw === true ? '' : raw);

/**
 * The parser of a field's flag, by its schema: a switch sets its value; a list takes one of its
 * choices; a number is finite, an integer one in decimal digits only (so that `--T 0x10` or
 * `--epochs 1e1` is refused rather than read by `Number()`), and a data-set option's is in its
 * range; a text is taken as typed.
 */
function parserOf(path: FlaggedPath, f: FieldFlag): ConfigFlag['parse'] {
  if (f.arg === undefined) {
    const value = f.sets ?? true;
    return () => value;
  }
  const choices = fieldChoices(path);
  if (choices) {
    const labels = choices.map(String);
    return (raw) => choices[labels.indexOf(parseChoice(f.flag, text(raw), labels))];
  }
  const schema = fieldSchema(path);
  if (schema._zod.def.type === 'number') {
    const range = fieldRange(path);
    const integer = range?.startsWith('an integer') === true;
    const checked = path.startsWith('datasetOptions.');
    return (raw) => {
      const t = text(raw);
      const v = integer ? parseDecimalInteger(f.flag, t) : parseNumber(f.flag, t);
      if (checked && range !== undefined && !fieldAccepts(path, v)) throw outOfRange(f.flag, range, t);
      return v;
    };
  }
  if (ABSOLUTE_PATHS.includes(path)) return (raw) => resolve(text(raw));
  return text;
}

/** The configuration flags of `stcsnn train`, in `--help` order. */
export const CONFIG_FLAGS: readonly ConfigFlag[] = (
  Object.entries(FIELD_FLAGS) as [FlaggedPath, FieldFlag][]
).map(([path, f]) => ({
  ...f,
  path,
  choices: fieldChoices(path)?.map(String),
  range: fieldRange(path),
  parse: parserOf(path, f),
}));

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
  // a default derived from the mask (DERIVED_DEFAULTS): shown per mask, from the derivation itself
  if (path === 'stc.learnTheta')
    return GRADIENT_MASKS.map((g) => `${trainerStc({ gradient: g }).learnTheta} with --gradient ${g}`).join(
      ', ',
    );
  const d = DEFAULT_VALUES[path];
  return d === undefined || typeof d === 'boolean' ? undefined : String(d);
}

/**
 * The commander option of a flag: its help with its range, applicability, choices and default;
 * no default filled.
 */
export function optionOf(f: ConfigFlag): Option {
  const dflt = defaultText(f.path);
  const range = f.range ? ` (${f.range})` : '';
  const only = f.datasets ? ` [${f.datasets.join(', ')} only]` : '';
  const choices = f.choices ? ` (choices: ${f.choices.join(', ')})` : '';
  return new Option(
    `${f.flag}${f.arg ? ` ${f.arg}` : ''}`,
    `${f.help}${range}${only}${choices}${dflt ? ` (default: ${dflt})` : ''}`,
  );
}

/** The `--preset` option. */
export function presetOption(): Option {
  const list = PRESET_NAMES.map((n) => `${n}: ${presetDescription(n)}`).join('; ');
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
