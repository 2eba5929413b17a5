/**
 * A run's `log.jsonl`: one {@link EpochMetrics} line per finished epoch, rewritten whole
 * (temporary file and rename) after every epoch. The line's schema, {@link epochMetricsSchema},
 * is the one type of a line: the trainer writes it, a resume reads it back, the analysis and
 * the reproduce reports read it. Its `stcb` entry holds the runaway monitor's figures per STCB
 * layer (`StcbFigures`, which `src/lib/train/monitor.ts` computes; {@link stcbFiguresSchema} reads
 * them back).
 *
 * JSON has no NaN or Infinity: `JSON.stringify` writes them as null, and the reader takes a null
 * figure back as NaN (a figure that was not a finite number).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../lib/core/config.js';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import type { StcbBnFigures, StcbFigures } from '../../lib/train/monitor.js';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { readRegularText } from '../../lib/util/fs.js';
import { issueText } from '../config/config.js';
import { isRecord, jsonNumber as figure } from './json.js';
import { runFile } from './layout.js';

/** The batch norm feeding an STCB layer in the monitor's figures ({@link StcbBnFigures}). */
export const stcbBnFiguresSchema = z.object({
  layer: z.string(),
  gamma_abs_mean: figure,
  gamma_abs_max: figure,
}) satisfies z.ZodType<StcbBnFigures>;

/**
 * The runaway monitor's figures of one STCB layer as a log line's `stcb` holds them
 * ({@link StcbFigures}; a null figure reads back as NaN, a missing `bn` as null).
 */
export const stcbFiguresSchema = z.object({
  layer: z.string(),
  samples: figure,
  S: figure,
  input_max: figure,
  input_p999: figure,
  saturated_share: figure,
  nonpositive_share: figure,
  fire_rate: figure,
  bn: stcbBnFiguresSchema.nullable().default(null),
}) satisfies z.ZodType<StcbFigures>;

/**
 * One line of `log.jsonl`, the metrics of one epoch (0-based `epoch`). Optional: `allreduce_seconds`
 * (data-parallel runs: seconds this rank spent in the gradient all-reduce), `lr_override` (the
 * base learning rate given with `--resume ... --lr` for this epoch), `train_loss_windows` (the
 * training loss by batch window within the epoch, `train/loss-windows.ts`), `stcb` (STC runs: per
 * STCB layer, the monitor's figures of its STEB input on the first `MONITOR_SAMPLES` test samples
 * at the end of the epoch), `warning` (the runaway warning, on the first epoch whose figures meet
 * the rule only: a run warns once). Logs written before a field was recorded lack it.
 */
export const epochMetricsSchema = z.object({
  epoch: z.number().int().min(0),
  lr: figure,
  train_loss: figure,
  train_accuracy: figure,
  test_loss: figure,
  test_accuracy: figure,
  seconds: figure,
  data_seconds: figure,
  images_per_second: figure,
  allreduce_seconds: figure.optional(),
  lr_override: figure.optional(),
  train_loss_windows: z.array(figure).optional(),
  stcb: z.array(stcbFiguresSchema).optional(),
  warning: z.string().optional(),
});

/** Metrics of one epoch (a line of `log.jsonl`; see {@link epochMetricsSchema}). */
export type EpochMetrics = Readonly<z.output<typeof epochMetricsSchema>>;

/** The fields of a log line that the analysis reads (runs of any age and test fixtures have them). */
const epochLogSchema = epochMetricsSchema.pick({
  epoch: true,
  lr: true,
  train_loss: true,
  train_accuracy: true,
  test_loss: true,
  test_accuracy: true,
  seconds: true,
  train_loss_windows: true,
  stcb: true,
  warning: true,
});

/** The fields of one `log.jsonl` line that the analysis reads. */
export type EpochLog = Pick<
  EpochMetrics,
  | 'epoch'
  | 'lr'
  | 'train_loss'
  | 'train_accuracy'
  | 'test_loss'
  | 'test_accuracy'
  | 'seconds'
  | 'train_loss_windows'
  | 'stcb'
  | 'warning'
>;

/** Writes `log.jsonl` of a run directory: one line per epoch, atomically. */
export function writeLog(runDir: string, log: readonly EpochMetrics[]): void {
  writeFileAtomic(
    runFile(runDir, 'log'),
    log.map((m) => JSON.stringify(m)).join('\n') + (log.length ? '\n' : ''),
  );
}

/** The non-empty lines of `log.jsonl`, with their 1-based numbers; null when the file is missing. */
function logLines(p: string): { line: string; n: number; last: boolean }[] | null {
  if (!existsSync(p)) return null;
  const lines = readRegularText(p, 'log').split('\n');
  return lines.flatMap((line, i) =>
    line.trim() === '' ? [] : [{ line, n: i + 1, last: i === lines.length - 1 }],
  );
}

/**
 * Why the epoch of line `n` cannot follow the lines before it (`seen`: epoch -> line), or null:
 * every epoch is logged once, in increasing order.
 */
function epochOrderProblem(epoch: number, n: number, seen: Map<number, number>, last: number): string | null {
  const before = seen.get(epoch);
  if (before !== undefined)
    return `line ${n} repeats epoch ${epoch} (line ${before}): each epoch is logged once`;
  if (epoch < last)
    return `line ${n} has epoch ${epoch} after epoch ${last}: epochs are logged in increasing order`;
  seen.set(epoch, n);
  return null;
}

/**
 * The epochs of a run's `log.jsonl`, for a resume. A last line that is not complete JSON and
 * lacks its newline is torn (a crash during a write by hand or on a file system without atomic
 * rename): it is dropped, with a notice, since the checkpoint and not the log says where the run
 * stands.
 * @throws CheckpointError naming the file and the line of any other line that is not an epoch
 *   object (`{"epoch": <integer >= 0>, ...}` of {@link epochMetricsSchema}), or that repeats an
 *   epoch or comes after a later one
 */
export function readLog(runDir: string, onNotice?: (line: string) => void): EpochMetrics[] {
  const p = runFile(runDir, 'log');
  const out: EpochMetrics[] = [];
  const seen = new Map<number, number>();
  for (const { line, n, last } of logLines(p) ?? []) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (last) {
        onNotice?.(
          `${p}: line ${n} is incomplete (a torn write); dropped it, the checkpoint says where the run stands`,
        );
        continue;
      }
      throw new CheckpointError(`${p}: line ${n} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    const r = epochMetricsSchema.safeParse(value);
    if (!r.success) {
      const { path, message } = issueText(r.error);
      throw new CheckpointError(
        `${p}: line ${n} is not an epoch's metrics (an object with an integer "epoch" >= 0: ${path}: ${message})`,
      );
    }
    const order = epochOrderProblem(r.data.epoch, n, seen, out.at(-1)?.epoch ?? -1);
    if (order) throw new CheckpointError(`${p}: ${order}`);
    out.push(r.data);
  }
  return out;
}

/**
 * Reads `log.jsonl` for the analysis (missing: empty): the fields of {@link EpochLog}; a line
 * without a numeric `epoch` is skipped, and so is a torn last line (an interrupted write).
 * @throws ConfigError naming the file and line of a line that is not JSON or has a wrong field,
 *   or that repeats an epoch or comes after a later one
 */
export function readEpochLog(dir: string): EpochLog[] {
  const p = runFile(dir, 'log');
  const out: EpochLog[] = [];
  const seen = new Map<number, number>();
  for (const { line, n, last } of logLines(p) ?? []) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (last) continue;
      throw new ConfigError(`${p}: line ${n} is not valid JSON`);
    }
    if (!isRecord(v) || typeof v.epoch !== 'number') continue;
    const r = epochLogSchema.safeParse(v);
    if (!r.success) {
      const { path, message } = issueText(r.error);
      throw new ConfigError(`${p}: line ${n}: ${path}: ${message}`);
    }
    const order = epochOrderProblem(r.data.epoch, n, seen, out.at(-1)?.epoch ?? -1);
    if (order) throw new ConfigError(`${p}: ${order}`);
    out.push(r.data);
  }
  return out;
}
