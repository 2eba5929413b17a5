/**
 * A run's `result.json`: the final {@link TrainResult}, written last by the trainer (its presence
 * means "finished"), read by repeats (a finished seed is not retrained), sweeps, the analysis and
 * the reproduce reports.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { writeJsonAtomic } from '../../lib/util/atomic.js';
import { checked, jsonNumber, readJsonFile } from './json.js';
import { runFile } from './layout.js';
import { provenanceSchema } from './provenance.js';

/** One STCB layer's spike statistics (`lib/nn/stats.ts`'s {@link LayerSpikeStats}) as `result.json` holds them. */
export const layerSpikeStatsSchema = z.object({
  layer: z.string(),
  T: jsonNumber,
  neurons: jsonNumber,
  samples: jsonNumber,
  spikes: jsonNumber,
  spikesPerNeuron: jsonNumber,
  fireRate: jsonNumber,
  histogram: z.object({ min: jsonNumber, max: jsonNumber, bins: jsonNumber, counts: z.array(jsonNumber) }),
  inputMin: jsonNumber,
  inputMax: jsonNumber,
  saturated: jsonNumber.optional(),
}) satisfies z.ZodType<LayerSpikeStats, unknown>;

/**
 * Why training ended before the configured epochs: `time-budget` (the run's training time reached
 * `--time-budget`), `early-stop` (a `TrainHooks.onEpochEnd` hook returned `'stop'`).
 */
export const STOP_REASONS = ['time-budget', 'early-stop'] as const;
/** One of {@link STOP_REASONS}. */
export type StopReason = (typeof STOP_REASONS)[number];

/**
 * `result.json`: what a finished run reports. `world_size` is the number of processes that
 * trained it (1 unless data-parallel), `global_batch` the samples per optimiser step over all
 * ranks (`batchSize * world_size`), `data_fraction` the fraction of step time spent waiting for
 * data; `spike_stats` the final evaluation's statistics per STCB layer (empty for an ANN). A run
 * stopped early (`stopped_by`) has a `result.json` too: what it reached; whether it can be
 * continued is `runStatus`'s decision (`run-record.ts`).
 */
export const trainResultSchema = z.object({
  runDir: z.string(),
  dataset: z.string(),
  arch: z.string(),
  mode: z.string(),
  T: jsonNumber,
  theta0: jsonNumber,
  tau: jsonNumber,
  /** Epochs trained (the run's, earlier invocations included). */
  epochs: jsonNumber,
  /** Epochs the configuration asks for; more than `epochs` when training stopped early (absent in older runs). */
  epochs_asked: jsonNumber.optional(),
  /** Why training stopped before `epochs_asked`, null when it trained them all (absent in older runs). */
  stopped_by: z.enum(STOP_REASONS).nullable().optional(),
  params: jsonNumber,
  backend: z.string(),
  seed: jsonNumber,
  world_size: jsonNumber,
  global_batch: jsonNumber,
  test_accuracy: jsonNumber,
  best_test_accuracy: jsonNumber,
  best_epoch: jsonNumber,
  final_loss: jsonNumber,
  train_seconds: jsonNumber,
  images_per_second: jsonNumber,
  data_fraction: jsonNumber,
  fire_rates: z.array(z.object({ layer: z.string(), rate: jsonNumber })),
  spike_stats: z.array(layerSpikeStatsSchema),
  per_class_accuracy: z.array(jsonNumber),
  confusion: z.array(z.array(jsonNumber)),
  /** Code version, machine and data of the invocation that finished the run (`provenance.ts`). */
  provenance: provenanceSchema.optional(),
  /**
   * A run converted from an ANN or re-encoded from an STC network (`--init-from`,
   * `train/convert.ts`) by this invocation: the file, its kind, what it was (absent in runs
   * written before STC sources were taken: an ANN), and each calibrated STCB's `theta0` and mean
   * squared encoding error, before and after.
   */
  conversion: z
    .object({
      file: z.string(),
      kind: z.enum(['stcsnn', 'state_dict']),
      from: z.enum(['ann', 'stc']).optional(),
      calibrated: z.array(
        z.object({
          layer: z.string(),
          before: z.array(jsonNumber),
          after: z.array(jsonNumber),
          kept: jsonNumber,
          mseBefore: jsonNumber,
          mseAfter: jsonNumber,
        }),
      ),
    })
    .optional(),
});

/** What a finished run reports (also `result.json`; see {@link trainResultSchema}). */
export type TrainResult = Readonly<z.output<typeof trainResultSchema>>;

/**
 * `result.json` as the readers take it: `test_accuracy` required, every other field of
 * {@link trainResultSchema} checked where present (runs of any age, fixtures), other keys kept.
 */
export const resultFileSchema = trainResultSchema.partial().required({ test_accuracy: true }).loose();

/** The fields of `result.json` a reader may rely on (see {@link resultFileSchema}). */
export type RunResultFile = Readonly<z.output<typeof resultFileSchema>>;

/** Writes `result.json` of a run directory, atomically. */
export function writeResult(runDir: string, result: TrainResult): void {
  writeJsonAtomic(runFile(runDir, 'result'), result);
}

/**
 * `result.json` of a run directory; null while the run has not finished (no file).
 * @throws ConfigError naming the file when it is not JSON or a field is wrong
 */
export function readResult(runDir: string): RunResultFile | null {
  const p = runFile(runDir, 'result');
  if (!existsSync(p)) return null;
  return checked(resultFileSchema, readJsonFile(p), p);
}
