/**
 * The architecture configuration: ONE zod schema, {@link archConfigSchema}, says what fixes a
 * network (architecture, mode, width, input shape, classes, STC parameters, STCB path) and which
 * values are allowed. Everything else derives from it:
 *
 * - the type {@link ArchConfig} and its structural part {@link PlanConfig} (what the plan,
 *   `plan.ts`, reads);
 * - the checks {@link checkArchConfig} / {@link checkPlanConfig} (the network and the plan),
 *   {@link parseArchConfig} (model files' `stcsnn.config`, `interop/model-codec.ts`);
 * - the training configuration's `arch`, `mode`, `width` and `path` fields and their defaults
 *   ({@link ARCH_FIELDS}, {@link ARCH_DEFAULTS}; `app/config/config.ts`), which the web page
 *   shares through the browser entry.
 *
 * The STC block is checked (and completed with `DEFAULT_STC`) by `stcConfig` alone.
 * Browser-safe: no Node module, no backend.
 */
import { z } from 'zod';
import { ConfigError, stcConfig, type StcConfig, type StcConfigInput } from '../core/config.js';
import { STC_PATHS } from '../core/stcb.js';
import { NET_MODES } from './layers.js';

/** The architectures `planNetwork` builds (each with its ANN twin). */
export const ARCHS = ['vgg11', 'vgg16', 'resnet18'] as const;
/** An architecture name. */
export type Arch = (typeof ARCHS)[number];

/** The largest channel multiplier (`width`); widths are in `(0, MAX_WIDTH]`. */
export const MAX_WIDTH = 4;
/** The smallest input side (height, width). */
export const MIN_INPUT_SIDE = 4;

/**
 * The fields of {@link archConfigSchema} that a training configuration shares (its own defaults
 * added: {@link ARCH_DEFAULTS}).
 */
export const ARCH_FIELDS = {
  arch: z.enum(ARCHS),
  /** Spiking network or its ANN twin. */
  mode: z.enum(NET_MODES),
  /** Channel multiplier (e.g. 0.25 for CPU-sized runs); channels are `max(1, round(c * width))`. */
  width: z.number().positive().max(MAX_WIDTH),
  /** Forward path of the STCBs (`fused` for training). */
  path: z.enum(STC_PATHS),
} as const;

/** The STC block: any object, checked and completed by `stcConfig` (its error names the field). */
const stcField = z.record(z.string(), z.unknown()).transform((input, ctx): StcConfig => {
  try {
    return stcConfig(input as StcConfigInput);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.issues.push({ code: 'custom', message: e.message, input, path: e.param ? [e.param] : [] });
    return z.NEVER;
  }
});

/** The schema of an architecture configuration (the keys in {@link ArchConfig}'s order). */
export const archConfigSchema = z.object({
  arch: ARCH_FIELDS.arch,
  mode: ARCH_FIELDS.mode,
  width: ARCH_FIELDS.width,
  /** Input `[H, W, C]`. */
  inputShape: z
    .tuple([
      z.number().int().min(MIN_INPUT_SIDE),
      z.number().int().min(MIN_INPUT_SIDE),
      z.number().int().min(1),
    ])
    .readonly(),
  classes: z.number().int().min(2),
  stc: stcField,
  path: ARCH_FIELDS.path,
});

/** Everything that fixes a network's structure and arithmetic (the output of {@link archConfigSchema}). */
export type ArchConfig = Readonly<z.output<typeof archConfigSchema>>;

/** The part of an {@link ArchConfig} that fixes the layers (mode, STC and path do not). */
export type PlanConfig = Pick<ArchConfig, 'arch' | 'width' | 'inputShape' | 'classes'>;

/** The schema of a {@link PlanConfig}. */
export const planConfigSchema = archConfigSchema.pick({
  arch: true,
  width: true,
  inputShape: true,
  classes: true,
});

/**
 * The default network (the trainer's, the web page's): VGG11, spiking, width 0.25 (CPU-sized),
 * the fused STCB path. The STC defaults, the paper's and the trainer's, are `STC_DEFAULTS` (`core/config.ts`).
 */
export const ARCH_DEFAULTS = Object.freeze({
  arch: 'vgg11',
  mode: 'stc',
  width: 0.25,
  path: 'fused',
} as const satisfies Pick<ArchConfig, 'arch' | 'mode' | 'width' | 'path'>);

/** The one wording of each field's refusal, by field (`got` is the value given). */
const REFUSALS: Readonly<Record<string, (got: unknown) => string>> = {
  arch: (v) => `arch must be one of ${ARCHS.join(', ')}; got ${String(v)}`,
  mode: (v) => `mode must be ${NET_MODES.join(' or ')}; got ${String(v)}`,
  width: (v) => `width must be in (0, ${MAX_WIDTH}], got ${String(v)}`,
  path: (v) => `path must be ${STC_PATHS.join(' or ')}; got ${String(v)}`,
  inputShape: (v) =>
    `input shape must be [H>=${MIN_INPUT_SIDE}, W>=${MIN_INPUT_SIDE}, C>=1] integers, got [${String(v)}]`,
  classes: (v) => `classes must be an integer >= 2, got ${String(v)}`,
};

/** Which field is reported when several are wrong (the order of the checks before the schema). */
const REPORT_ORDER = ['arch', 'mode', 'width', 'path', 'inputShape', 'classes', 'stc'];

function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const rank = (i: z.core.$ZodIssue) => {
    const k = REPORT_ORDER.indexOf(String(i.path[0]));
    return k < 0 ? REPORT_ORDER.length : k;
  };
  const issue = [...r.error.issues].sort((a, b) => rank(a) - rank(b))[0];
  const field = issue.path[0];
  if (field === undefined) throw new ConfigError('an architecture configuration must be an object');
  if (field === 'stc') {
    const param = issue.path[1];
    throw new ConfigError(issue.message, param === undefined ? undefined : String(param));
  }
  const got = (value as Record<string, unknown>)[field as string];
  const say = REFUSALS[field as string];
  throw new ConfigError(say ? say(got) : `${String(field)}: ${issue.message}`, String(field));
}

/**
 * Parses an architecture configuration from untrusted values (a model file's `stcsnn.config`):
 * the schema's output, the STC block completed by `stcConfig`.
 * @throws ConfigError naming the first field that is wrong (its `param`)
 */
export function parseArchConfig(value: unknown): ArchConfig {
  return parseWith(archConfigSchema, value);
}

/**
 * Validates an architecture configuration.
 * @returns `cfg` itself
 * @throws ConfigError naming the first field that is wrong
 */
export function checkArchConfig(cfg: ArchConfig): ArchConfig {
  parseWith(archConfigSchema, cfg);
  return cfg;
}

/**
 * Validates the structural part of an architecture configuration.
 * @throws ConfigError naming the first field that is wrong
 */
export function checkPlanConfig(cfg: PlanConfig): void {
  parseWith(planConfigSchema, cfg);
}
