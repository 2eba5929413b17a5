/**
 * The full configuration of a training run: what `config.json` in a run directory holds and
 * what `--resume` reads back (validated with zod, so a damaged file gives a one-line error).
 */
import { z } from 'zod';
import { ConfigError, MAX_T, stcConfig, type StcConfig } from '../core/config.js';
import { ARCHS, type Arch } from '../nn/models.js';
import { LR_SCHEDULES, type LrScheduleName } from './lr-schedule.js';

/** A training run's configuration. */
export interface TrainConfig {
  readonly dataset: string;
  readonly dataDir?: string;
  /** Extra data-set options (e.g. `labels: 'coarse'` for CIFAR-100, `frames` for DVS). */
  readonly datasetOptions: Record<string, string | number | boolean>;
  readonly arch: Arch;
  readonly mode: 'stc' | 'ann';
  readonly width: number;
  readonly stc: StcConfig;
  readonly path: 'fused' | 'spike-train';
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly lrSchedule: LrScheduleName;
  readonly stepEvery: number;
  readonly stepGamma: number;
  /** Augmentation: the data set's default (`auto`), or none. */
  readonly augment: 'auto' | 'none';
  readonly seed: number;
  readonly limitTrain?: number;
  readonly limitTest?: number;
  /** Seconds after which training stops at the end of the current epoch (a time budget). */
  readonly timeBudget?: number;
}

const schema = z.object({
  dataset: z.string().min(1),
  dataDir: z.string().optional(),
  datasetOptions: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  arch: z.enum(ARCHS),
  mode: z.enum(['stc', 'ann']),
  width: z.number().positive().max(4),
  stc: z.object({
    T: z.number().int().min(1).max(MAX_T),
    theta0: z.number().positive(),
    tau: z.number().positive(),
    schedule: z.enum(['exp', 'geometric']),
    fire: z.enum(['>=', '>']),
    gradient: z.enum(['relu', 'clipped']).default('relu'),
  }),
  path: z.enum(['fused', 'spike-train']),
  epochs: z.number().int().min(1).max(100000),
  batchSize: z.number().int().min(1).max(65536),
  lr: z.number().positive().max(100),
  momentum: z.number().min(0).max(1),
  weightDecay: z.number().min(0).max(1),
  nesterov: z.boolean(),
  lrSchedule: z.enum(LR_SCHEDULES),
  stepEvery: z.number().int().min(1),
  stepGamma: z.number().positive().max(1),
  augment: z.enum(['auto', 'none']),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  limitTrain: z.number().int().min(1).optional(),
  limitTest: z.number().int().min(1).optional(),
  timeBudget: z.number().positive().optional(),
});

/** Validates a configuration (e.g. read from `config.json`); `source` names it in errors. */
export function checkTrainConfig(value: unknown, source: string): TrainConfig {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new ConfigError(`${source}: ${where}: ${issue.message}`);
  }
  const c = r.data;
  let stc: StcConfig;
  try {
    stc = stcConfig(c.stc);
  } catch (e) {
    throw new ConfigError(`${source}: stc: ${(e as Error).message}`);
  }
  return { ...c, stc };
}

/** The defaults of `stcsnn train` (a few minutes on the embedded data). */
export const TRAIN_DEFAULTS: TrainConfig = {
  dataset: 'fashion-mnist-mini',
  datasetOptions: {},
  arch: 'vgg11',
  mode: 'stc',
  width: 0.25,
  stc: stcConfig(),
  path: 'fused',
  epochs: 5,
  batchSize: 32,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  nesterov: false,
  lrSchedule: 'cosine',
  stepEvery: 20,
  stepGamma: 0.5,
  augment: 'auto',
  seed: 0,
};

/** The paper's protocol for a data set (DESIGN.md §5): epochs, learning-rate schedule, theta0, repeats. */
export interface PaperPreset {
  readonly epochs: number;
  readonly lrSchedule: LrScheduleName;
  readonly theta0: number;
  readonly repeats: number;
}

/** `--preset paper` per data set (Table 1 and §4.2; epochs beyond DVS's 50 are an assumption, DESIGN.md §5). */
export function paperPreset(dataset: string): PaperPreset {
  if (dataset.startsWith('fashion-mnist'))
    return { epochs: 100, lrSchedule: 'step', theta0: 0.8, repeats: 5 };
  if (dataset === 'cifar10' || dataset === 'cifar100')
    return { epochs: 300, lrSchedule: 'cosine', theta0: 0.8, repeats: 5 };
  if (dataset === 'tinyimagenet') return { epochs: 200, lrSchedule: 'cosine', theta0: 0.8, repeats: 5 };
  if (dataset === 'cifar10-dvs') return { epochs: 50, lrSchedule: 'cosine', theta0: 2, repeats: 5 };
  throw new ConfigError(`--preset paper has no protocol for data set ${dataset}`);
}
