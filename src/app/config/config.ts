/**
 * The full configuration of a training run: ONE zod schema, {@link trainConfigSchema}, is its
 * home. The type ({@link TrainConfig}), the defaults ({@link TRAIN_DEFAULTS}), the validation of
 * `config.json` on `--resume` ({@link checkTrainConfig}) and of the command line all derive from
 * it; the choice lists are the tuples of the modules that own them (`core/config.ts`,
 * `lib/train/lr-schedule.ts`, {@link AUGMENT_MODES} here); the network's fields (`arch`, `mode`, `width`,
 * `path`) and their defaults are those of the architecture schema (`nn/arch-config.ts`), the
 * optimiser's defaults `SGD_DEFAULTS` (`lib/train/sgd-defaults.ts`, shared with the web page).
 *
 * The STC block (`stc`) is checked by {@link stcConfig} alone (the schema only types its fields),
 * which also fills its defaults (`STC_DEFAULTS` in `core/config.ts`, with the trainer's
 * differences: {@link trainerStc}). Data-set-dependent defaults (theta0) come
 * from the data-set registry, presets from `presets.ts`; `resolve.ts` layers them. Each
 * field's flag and help text are in `fields.ts`, which `--help` joins with the ranges, choices
 * and defaults read from here.
 */
import { z } from 'zod';
import {
  ConfigError,
  FIRE_TESTS,
  GRADIENT_MASKS,
  INPUT_SHIFTS,
  LEARN_THETA_MODES,
  stcConfig,
  STC_DEFAULTS,
  THRESHOLD_SCHEDULES,
  type StcConfig,
  type StcConfigInput,
} from '../../lib/core/config.js';
import { CIFAR100_LABELS } from '../../lib/data/readers/index.js';
import { DEFAULT_DATASET } from '../../lib/data/registry.js';
import { ARCH_DEFAULTS, ARCH_FIELDS } from '../../lib/nn/arch-config.js';
import { LR_SCHEDULES } from '../../lib/train/lr-schedule.js';
import { SGD_DEFAULTS } from '../../lib/train/sgd-defaults.js';

/** Augmentation: the data set's default crop/flip (`auto`, none for DVS), or none. The default first. */
export const AUGMENT_MODES = ['auto', 'none'] as const;
/** An augmentation mode. */
export type AugmentMode = (typeof AUGMENT_MODES)[number];

/**
 * The STC configuration of a training run from the fields given: the trainer's defaults
 * (`STC_DEFAULTS.trainer` over the paper's, `core/config.ts`) under them, except that a default
 * threshold mode applies only where the mask is the clipped one (`{gradient: 'relu'}` gives the
 * paper's fixed thresholds; an explicit `learnTheta` with the ReLU mask is refused by `stcConfig`).
 * @throws ConfigError from `stcConfig`
 */
export function trainerStc(input: StcConfigInput): StcConfig {
  const trainer = STC_DEFAULTS.trainer;
  const gradient = input.gradient ?? trainer.gradient;
  const learnTheta = input.learnTheta ?? (gradient === 'clipped' ? trainer.learnTheta : undefined);
  return stcConfig({ ...trainer, ...input, learnTheta });
}

/**
 * The fields of the STC block, typed here; range-checked and completed (with the trainer's
 * defaults, {@link trainerStc}) once, by {@link stcConfig} (see {@link trainConfigSchema}'s `stc`).
 */
export const stcFieldsSchema = z.object({
  T: z.number().optional(),
  theta0: z.number().optional(),
  tau: z.number().optional(),
  schedule: z.enum(THRESHOLD_SCHEDULES).optional(),
  fire: z.enum(FIRE_TESTS).optional(),
  gradient: z.enum(GRADIENT_MASKS).optional(),
  learnTheta: z.enum(LEARN_THETA_MODES).optional(),
  shift: z.enum(INPUT_SHIFTS).optional(),
});

/**
 * The STC block: {@link stcFieldsSchema}, range-checked and completed by {@link stcConfig};
 * an error names the parameter (`stc.theta0`).
 */
const stcSchema = stcFieldsSchema.prefault({}).transform((input, ctx): StcConfig => {
  try {
    return trainerStc(input);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.issues.push({ code: 'custom', message: e.message, input, path: e.param ? [e.param] : [] });
    return z.NEVER;
  }
});

/**
 * The data-set options the application sets (`datasetOptions.*`, each reader's own in
 * `data/readers/index.ts`), with the ranges the command line accepts. A configuration's
 * `datasetOptions` stays an open record (the readers check what they read); the flags check
 * their values against this schema.
 */
export const datasetOptionsSchema = z
  .object({
    /** CIFAR-100: fine or coarse labels. */
    labels: z.enum(CIFAR100_LABELS),
    /** CIFAR10-DVS: frames per sample, stacked as channels. */
    frames: z.number().int().min(1).max(64),
    /** CIFAR10-DVS frames or imagefolder images: resized to `size` x `size`. */
    size: z.number().int().min(4).max(1024),
    /** imagefolder: RGB (3) or BT.601 luminance (1). */
    channels: z.literal([1, 3]),
    /** imagefolder, CIFAR10-DVS: each class's share of the test split. */
    testFraction: z.number().gt(0).lt(1),
    /** Where archives are extracted and frames cached. */
    cacheDir: z.string(),
    /** `false`: accept a subset of the data set. */
    strict: z.boolean(),
  })
  .partial();

/** The schema of a training run's configuration, with its defaults (`stcsnn train` without flags). */
export const trainConfigSchema = z.object({
  /** Data-set name (see `data/registry.ts`). */
  dataset: z.string().min(1).default(DEFAULT_DATASET),
  /** Where the data set's files are (each reader has its search order when absent). */
  dataDir: z.string().optional(),
  /** Extra data-set options (e.g. `labels: 'coarse'` for CIFAR-100, `frames` for DVS, `strict`). */
  datasetOptions: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default(() => ({})),
  arch: ARCH_FIELDS.arch.default(ARCH_DEFAULTS.arch),
  /** Spiking network or its ANN twin. */
  mode: ARCH_FIELDS.mode.default(ARCH_DEFAULTS.mode),
  /** Channel width multiplier (0.25: CPU-sized). */
  width: ARCH_FIELDS.width.default(ARCH_DEFAULTS.width),
  stc: stcSchema,
  /** STCB forward path. */
  path: ARCH_FIELDS.path.default(ARCH_DEFAULTS.path),
  /** Epochs; 0 only with `initFrom` (the converted network, evaluated without fine-tuning). */
  epochs: z.number().int().min(0).max(100000).default(5),
  batchSize: z.number().int().min(1).max(65536).default(32),
  /**
   * Data-parallel training: batch norm normalises with the global batch's statistics over all
   * ranks (synchronised batch norm) instead of each rank's shard. No effect on one process.
   */
  syncBn: z.boolean().default(false),
  /** SGD: initial learning rate, momentum, weight decay, Nesterov. */
  lr: z.number().positive().max(100).default(0.1),
  momentum: z.number().min(0).max(1).default(SGD_DEFAULTS.momentum),
  weightDecay: z.number().min(0).max(1).default(SGD_DEFAULTS.weightDecay),
  nesterov: z.boolean().default(SGD_DEFAULTS.nesterov),
  lrSchedule: z.enum(LR_SCHEDULES).default('cosine'),
  /** `step` schedule: epochs between decays and the factor. */
  stepEvery: z.number().int().min(1).default(20),
  stepGamma: z.number().positive().max(1).default(0.5),
  augment: z.enum(AUGMENT_MODES).default('auto'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  /** Use the first N training / test samples. */
  limitTrain: z.number().int().min(1).optional(),
  limitTest: z.number().int().min(1).optional(),
  /** Seconds after which training stops at the end of the current epoch (a time budget). */
  timeBudget: z.number().positive().optional(),
  /**
   * ANN-to-STC conversion: the ANN (run directory, model file or PyTorch state dict) whose
   * weights and batch-norm statistics initialise this STC run, thresholds calibrated
   * (`train/convert.ts`).
   */
  initFrom: z.string().min(1).optional(),
  /**
   * Knowledge distillation: the trained network (run directory or model file) whose softened
   * outputs this run also learns from (`lib/train/distill.ts`, `train/teacher.ts`).
   */
  distillFrom: z.string().min(1).optional(),
  /** Weight of the teacher's term (default `DISTILL_DEFAULTS.alpha`); only with `distillFrom`. */
  distillAlpha: z.number().min(0).max(1).optional(),
  /** Softmax temperature of the teacher's term (default `DISTILL_DEFAULTS.temperature`); only with `distillFrom`. */
  distillTemperature: z.number().positive().optional(),
});

/** A training run's configuration (what `config.json` holds). */
export type TrainConfig = Readonly<z.output<typeof trainConfigSchema>>;

/**
 * The rules across fields that the schema's ranges cannot say: `epochs` 0 is a converted network
 * evaluated without training, so only with `initFrom`; the distillation weights only with
 * `distillFrom`.
 * @throws ConfigError naming the fields
 */
export function checkFieldRules(config: TrainConfig): void {
  if (config.epochs === 0 && config.initFrom === undefined)
    throw new ConfigError(
      'epochs 0 trains nothing: it is for --init-from (the converted network, evaluated)',
    );
  if (
    config.distillFrom === undefined &&
    (config.distillAlpha !== undefined || config.distillTemperature !== undefined)
  )
    throw new ConfigError(
      '--distill-alpha and --distill-temperature weigh a teacher: they need --distill-from',
    );
}

/** Options of a run around its trainings: `repeats` trains seeds `seed, seed+1, ...`. */
export const runOptionsSchema = z.object({
  repeats: z.number().int().min(1).default(1),
});

/** The options of a run around its trainings. */
export type RunOptions = Readonly<z.output<typeof runOptionsSchema>>;

/** The defaults of `stcsnn train` (a few minutes on the embedded data): the schema's. */
export const TRAIN_DEFAULTS: TrainConfig = Object.freeze(trainConfigSchema.parse({}));

/** A configuration value at a leaf. */
export type ConfigValue = string | number | boolean;

/** A top-level field of the configuration that holds a value (not a block of fields). */
export type TopField = Exclude<keyof TrainConfig, 'stc' | 'datasetOptions'>;

/**
 * Configuration values by dotted path (`epochs`, `stc.theta0`, `datasetOptions.labels`,
 * `repeats`): what presets, data sets and flags set.
 */
export type ConfigValues = { readonly [K in TopField]?: TrainConfig[K] } & {
  readonly [K in keyof StcConfig as `stc.${K}`]?: StcConfig[K];
} & { readonly [K in `datasetOptions.${string}`]?: ConfigValue } & { readonly repeats?: number };

/** A dotted configuration path. */
export type ConfigPath = keyof ConfigValues & string;

/** The leaves of a configuration, by dotted path (plain objects are descended into). */
export function flattenConfig(value: object, prefix = ''): Record<string, ConfigValue | undefined> {
  const out: Record<string, ConfigValue | undefined> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flattenConfig(v as object, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v as ConfigValue | undefined;
  }
  return out;
}

/** The nested object of dotted-path values (the inverse of {@link flattenConfig}). */
export function unflattenConfig(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const keys = p.split('.');
    let o = out;
    for (const k of keys.slice(0, -1)) {
      if (!Object.hasOwn(o, k)) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[keys[keys.length - 1]] = v;
  }
  return out;
}

/**
 * The fields whose default is derived from another field's value, by dotted path: the field it
 * is derived from. `stc.learnTheta` defaults to the trainer's threshold mode under the
 * clipped mask and to `off` under the ReLU mask ({@link trainerStc}), so `--gradient relu` alone
 * gives fixed thresholds; `--print-config` names the source `derived from stc.gradient`.
 */
export const DERIVED_DEFAULTS: Readonly<Partial<Record<ConfigPath, ConfigPath>>> = Object.freeze({
  'stc.learnTheta': 'stc.gradient',
});

/**
 * The schemas' defaults by dotted path (the training configuration's and `repeats`), without
 * the derived ones ({@link DERIVED_DEFAULTS}): the schema fills those from the fields they
 * derive from.
 */
export const DEFAULT_VALUES: Readonly<Record<string, ConfigValue | undefined>> = Object.freeze(
  Object.fromEntries(
    Object.entries({ ...flattenConfig(TRAIN_DEFAULTS), ...runOptionsSchema.parse({}) }).filter(
      ([p]) => !Object.hasOwn(DERIVED_DEFAULTS, p),
    ),
  ),
);

/**
 * Every field of a configuration in the schema's order, as dotted paths: the top-level fields
 * (optional ones too), each `stc.*`, each data-set option `config` has.
 */
export function configPaths(config?: TrainConfig): ConfigPath[] {
  const out: ConfigPath[] = [];
  for (const k of Object.keys(trainConfigSchema.shape) as (keyof TrainConfig)[]) {
    if (k === 'stc') for (const s of Object.keys(TRAIN_DEFAULTS.stc)) out.push(`stc.${s as keyof StcConfig}`);
    else if (k === 'datasetOptions')
      for (const o of Object.keys(config?.datasetOptions ?? {})) out.push(`datasetOptions.${o}`);
    else out.push(k);
  }
  return out;
}

/**
 * Fields a `config.json` may lack because they were added after such runs were written, with the
 * value those runs had (not necessarily today's default: the trainer's gradient mask and
 * threshold mode changed with `STC_DEFAULTS.trainer`). Every other field with a default must be
 * there.
 */
export const ADDED_LATER: Readonly<Partial<Record<ConfigPath, ConfigValue>>> = Object.freeze({
  'stc.gradient': 'relu',
  syncBn: false,
  'stc.learnTheta': 'off',
  'stc.shift': 'none',
});

/**
 * Fields added after the configuration hash (`config-hash.ts`), left out of a run's identity at
 * the value earlier runs had, so that the hashes of those runs stay valid.
 */
const IDENTITY_OMITS_AT: Readonly<Partial<Record<ConfigPath, ConfigValue | undefined>>> = Object.freeze({
  'stc.learnTheta': 'off',
  'stc.shift': 'none',
  initFrom: undefined,
  distillFrom: undefined,
  distillAlpha: undefined,
  distillTemperature: undefined,
});

interface CheckDef {
  readonly check?: string;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly format?: string;
}

/**
 * The allowed range of a top-level number field of `schema`, read from it, as text: `in (0, 4]`,
 * `an integer in 1..100000`, `> 0`; undefined for other fields.
 */
export function rangeOf(field: string, schema: z.ZodObject = trainConfigSchema): string | undefined {
  if (!Object.hasOwn(schema.shape, field)) return undefined;
  return rangeOfType(schema.shape[field]);
}

/** `s` without its optional, default and prefault wrappers. */
export function unwrapped(s: z.core.$ZodType): z.core.$ZodType {
  while ('innerType' in s._zod.def) s = s._zod.def.innerType as z.core.$ZodType;
  return s;
}

/** The range of a number schema as text (see {@link rangeOf}); undefined for other schemas. */
export function rangeOfType(schema: z.core.$ZodType): string | undefined {
  const s = unwrapped(schema);
  if (s._zod.def.type !== 'number') return undefined;
  const checks = ((s._zod.def as { checks?: { _zod: { def: CheckDef } }[] }).checks ?? []).map(
    (c) => c._zod.def,
  );
  const int = checks.some((c) => c.format === 'safeint');
  const lo = checks.find((c) => c.check === 'greater_than');
  const hi = checks.find((c) => c.check === 'less_than');
  if (int && lo && hi) return `an integer in ${lo.value}..${hi.value}`;
  if (int && lo) return `an integer >= ${lo.value}`;
  if (lo && hi) return `in ${lo.inclusive ? '[' : '('}${lo.value}, ${hi.value}${hi.inclusive ? ']' : ')'}`;
  if (lo) return `${lo.inclusive ? '>=' : '>'} ${lo.value}`;
  return undefined;
}

/**
 * The one wording of an out-of-range value, for every numeric cap (flags, `config.json`,
 * STC parameters): `--epochs must be an integer in 1..100000, got 0`.
 */
export function rangeMessage(name: string, range: string, got: string | number): string {
  return `${name} must be ${range}, got ${got}`;
}

/** The first issue of a failed parse as `path: message`. */
export function issueText(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  return { path: issue.path.length ? issue.path.join('.') : '(root)', message: issue.message };
}

/**
 * A copy of `value` with each `ADDED_LATER` field it lacks set to its legacy value. A field
 * whose parent is not a plain object (`"stc": 3`) is left for the schema to refuse; no other key
 * of `value` is touched, however odd.
 */
function withAddedLater(value: object, given: Readonly<Record<string, unknown>>): object {
  const out = structuredClone(value) as Record<string, unknown>;
  for (const [path, legacy] of Object.entries(ADDED_LATER)) {
    if (path in given) continue;
    const keys = path.split('.');
    let o: Record<string, unknown> | undefined = out;
    for (const k of keys.slice(0, -1)) {
      if (!Object.hasOwn(o, k)) o[k] = {};
      const next: unknown = o[k];
      o =
        next !== null && typeof next === 'object' && !Array.isArray(next)
          ? (next as Record<string, unknown>)
          : undefined;
      if (o === undefined) break;
    }
    if (o !== undefined) o[keys[keys.length - 1]] = legacy;
  }
  return out;
}

/**
 * Validates a complete configuration (e.g. read from `config.json`: every field with a default
 * must be present, see `ADDED_LATER`); `source` names it in errors.
 * @throws ConfigError `source: path: message`
 */
export function checkTrainConfig(value: unknown, source: string): TrainConfig {
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  const given = isObject ? flattenConfig(value) : {};
  const r = trainConfigSchema.safeParse(isObject ? withAddedLater(value, given) : value);
  if (!r.success) {
    const { path, message } = issueText(r.error);
    throw new ConfigError(`${source}: ${path}: ${message}`);
  }
  const missing = Object.keys(flattenConfig(TRAIN_DEFAULTS)).find(
    (p) => !Object.hasOwn(ADDED_LATER, p) && !(p in given),
  );
  if (missing !== undefined) throw new ConfigError(`${source}: ${missing}: missing`);
  try {
    checkFieldRules(r.data);
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message}`);
  }
  return r.data;
}

/**
 * Fields a resumed run may change (`--resume` compares the rest with the checkpoint's): `epochs`
 * (extending a run: `--resume RUN --epochs N`), `timeBudget` (the run's training seconds, over
 * every invocation; raised to continue a run it stopped) and
 * `dataDir` (where the same data set's files are found on this machine). Everything else (the
 * network, the STC parameters, the optimiser, the data: `limitTrain`/`limitTest` included)
 * defines the run; changing it would mix two runs in one directory.
 */
export const RESUME_MAY_CHANGE: readonly ConfigPath[] = ['epochs', 'timeBudget', 'dataDir'];

/**
 * Fields a resume may override for the epochs it trains without changing the run's
 * configuration: `lr` (`--resume DIR --lr X` after a divergence). The run keeps its
 * configuration and hash; the override is recorded in each epoch's `log.jsonl` line.
 */
export const RESUME_OVERRIDES: readonly ConfigPath[] = ['lr'];

/**
 * The fields that define a run: every leaf of `config` by dotted path (absent optional fields
 * as `null`), except {@link RESUME_MAY_CHANGE} and fields at their {@link IDENTITY_OMITS_AT}
 * value, sorted by path.
 */
export function runIdentity(config: TrainConfig): [string, ConfigValue | null][] {
  const leaves = flattenConfig(config);
  for (const p of configPaths(config)) if (!(p in leaves)) leaves[p] = undefined;
  const omitted = IDENTITY_OMITS_AT as Readonly<Record<string, ConfigValue>>;
  return Object.entries(leaves)
    .filter(([p]) => !(RESUME_MAY_CHANGE as readonly string[]).includes(p))
    .filter(([p, v]) => !Object.hasOwn(omitted, p) || omitted[p] !== v)
    .map(([p, v]): [string, ConfigValue | null] => [p, v ?? null])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The fields of {@link runIdentity} that differ between `before` and `after`, as
 * `path before -> after` (e.g. `stc.T 8 -> 4`), in path order.
 */
export function configChanges(before: TrainConfig, after: TrainConfig): string[] {
  const a = new Map(runIdentity(before));
  const b = new Map(runIdentity(after));
  const out: string[] = [];
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(p) ?? null;
    const y = b.get(p) ?? null;
    if (x !== y) out.push(`${p} ${JSON.stringify(x)} -> ${JSON.stringify(y)}`);
  }
  return out;
}
