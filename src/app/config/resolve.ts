/**
 * Resolving a training configuration from its layers, each value from the first that has it:
 *
 *   given (a flag) > preset > data-set default (the registry's theta0) > schema default
 *
 * and recording where each value came from. The result is validated once, by the schema.
 */
import { ConfigError } from '../../lib/core/config.js';
import { datasetInfo } from '../../lib/data/registry.js';
import {
  checkFieldRules,
  configPaths,
  DEFAULT_VALUES,
  DERIVED_DEFAULTS,
  rangeMessage,
  rangeOf,
  runOptionsSchema,
  TRAIN_DEFAULTS,
  trainConfigSchema,
  unflattenConfig,
  type ConfigPath,
  type ConfigValue,
  type ConfigValues,
  type TrainConfig,
} from './config.js';
import { presetValues, type PresetName } from './presets.js';

/**
 * Where a configuration value came from: `derived` is a default that follows another field's
 * value (`DERIVED_DEFAULTS` in `config.ts`).
 */
export type ConfigSource = 'default' | 'derived' | 'dataset' | 'preset' | 'flag' | 'resumed';

/** A resolved configuration. */
export interface ResolvedConfig {
  readonly config: TrainConfig;
  /** Trainings (seeds `seed, seed+1, ...`). */
  readonly repeats: number;
  /** The preset applied, if any. */
  readonly preset?: string;
  /** Where each value came from, for every path of `configPaths` and `repeats`. */
  readonly sources: Readonly<Record<string, ConfigSource>>;
}

/** What to resolve. */
export interface ResolveOptions {
  /** A preset's name (see `presets.ts`). */
  readonly preset?: PresetName | string;
  /** Values the user gave (flags); they win over everything else. */
  readonly given?: ConfigValues;
  /** How errors name a given value (e.g. its flag, `--epochs`); default: its path. */
  readonly nameOf?: (path: string) => string;
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** The data set's defaults: its theta0 (registry). */
export function datasetDefaults(dataset: string): ConfigValues {
  return { 'stc.theta0': datasetInfo(dataset).theta0 };
}

/**
 * Resolves a configuration: `given` > `preset` > the data set's defaults > the schema's.
 * @throws ConfigError for an unknown preset, a preset that does not cover the data set, or a
 *   value out of range (naming it by `nameOf` when the user gave it); DataError for an unknown
 *   data set
 */
export function resolveTrainConfig(opts: ResolveOptions = {}): ResolvedConfig {
  const given = opts.given ?? {};
  const dataset = given.dataset ?? TRAIN_DEFAULTS.dataset;
  const layers: [ConfigSource, ConfigValues][] = [
    ['default', DEFAULT_VALUES as ConfigValues],
    ['dataset', datasetDefaults(dataset)],
    ['preset', opts.preset === undefined ? {} : presetValues(opts.preset, dataset)],
    ['flag', given],
  ];
  const values: Record<string, ConfigValue | undefined> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const [source, layer] of layers) {
    for (const [path, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      values[path] = v as ConfigValue;
      sources[path] = source;
    }
  }
  const { repeats: rawRepeats, ...rest } = values;
  const describe = (path: string): string => {
    if (sources[path] === 'flag' && opts.nameOf) return opts.nameOf(path);
    if (sources[path] === 'preset') return `${path} (preset ${opts.preset})`;
    return path;
  };
  const run = runOptionsSchema.safeParse({ repeats: rawRepeats });
  if (!run.success) {
    const range = rangeOf('repeats', runOptionsSchema) ?? '';
    throw new ConfigError(rangeMessage(describe('repeats'), range, String(rawRepeats)));
  }
  const r = trainConfigSchema.safeParse(unflattenConfig(rest));
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.join('.');
    const name = describe(path);
    // stcConfig's messages start with the parameter's name: put the flag's in its place
    const param = path.startsWith('stc.') ? path.slice(4) : undefined;
    const range = issue.code === 'invalid_union' ? undefined : rangeOf(path);
    const got = path in values ? `, got ${String(values[path])}` : '';
    const message =
      param !== undefined && issue.message.startsWith(`${param} `)
        ? `${name}${issue.message.slice(param.length)}`
        : range !== undefined && ['too_small', 'too_big', 'invalid_type'].includes(issue.code)
          ? rangeMessage(name, range, String(values[path]))
          : `${name || 'configuration'}: ${lower(issue.message)}${got.replace(', got', ' (got')}${got ? ')' : ''}`;
    throw new ConfigError(message);
  }
  const config = r.data;
  checkFieldRules(config);
  const all: Record<string, ConfigSource> = {};
  for (const p of [...configPaths(config), 'repeats'])
    all[p] = sources[p] ?? (Object.hasOwn(DERIVED_DEFAULTS, p) ? 'derived' : 'default');
  return { config, repeats: run.data.repeats, preset: opts.preset, sources: all };
}

/** A configuration read back from a run (`--resume`): every value's source is `resumed`. */
export function resumedConfig(config: TrainConfig): ResolvedConfig {
  const sources: Record<string, ConfigSource> = {};
  for (const p of [...configPaths(config), 'repeats'] as (ConfigPath | 'repeats')[]) sources[p] = 'resumed';
  return { config, repeats: 1, sources };
}
