/**
 * A repeat group's `repeats.json` (`train --repeats N`): the configuration, the final test
 * accuracy over the seeds as mean, sample standard deviation and best, and the seeds' run
 * directories (`seed-<n>/`, `layout.ts`).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../../lib/util/atomic.js';
import { trainConfigSchema } from '../config/config.js';
import { checked, jsonNumber, readJsonFile } from './json.js';
import { runFile } from './layout.js';

/** Mean, sample standard deviation and best of a list of values. */
export interface RepeatSummary {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for one value. */
  readonly stddev: number;
  readonly best: number;
  readonly count: number;
}

/**
 * Mean, sample standard deviation `sqrt(sum (x - mean)^2 / (n - 1))` (0 for n = 1) and best
 * (maximum) of `xs`; NaN for an empty list.
 */
export function meanStdBest(xs: readonly number[]): RepeatSummary {
  const n = xs.length;
  if (n === 0) return { mean: NaN, stddev: NaN, best: NaN, count: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stddev: Math.sqrt(v), best: Math.max(...xs), count: n };
}

/** Summarises the final test accuracy of each run. */
export function summarizeRepeats(runs: readonly { test_accuracy: number }[]): RepeatSummary {
  return meanStdBest(runs.map((r) => r.test_accuracy));
}

/** `repeats.json`: the configuration, the {@link RepeatSummary} of the seeds' final test accuracy, their run directories. */
export const repeatsFileSchema = z.object({
  config: trainConfigSchema,
  mean: jsonNumber,
  stddev: jsonNumber,
  best: jsonNumber,
  count: jsonNumber,
  runs: z.array(z.string()),
});

/** `repeats.json` (see {@link repeatsFileSchema}). */
export type RepeatsFile = Readonly<z.output<typeof repeatsFileSchema>>;

/** Writes `repeats.json` of a repeat group, atomically. */
export function writeRepeats(dir: string, file: RepeatsFile): void {
  writeJsonAtomic(runFile(dir, 'repeats'), file);
}

/**
 * `repeats.json` of a repeat group; null when there is none.
 * @throws ConfigError naming the file when it is not JSON or a field is wrong
 */
export function readRepeats(dir: string): RepeatsFile | null {
  const p = runFile(dir, 'repeats');
  if (!existsSync(p)) return null;
  return checked(repeatsFileSchema, readJsonFile(p), p);
}
