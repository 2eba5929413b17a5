/** Printing helpers shared by the commands: JSON, tables, progress. */
import cliProgress from 'cli-progress';
import { escapeControl } from '../../lib/util/text.js';
import { pct } from '../analysis/format.js';
import type { TrainHooks } from '../train/train.js';

let printedJson = false;

/** Prints exactly one JSON object on stdout. */
export function printJson(value: unknown): void {
  printedJson = true;
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Whether this process has printed its JSON object already (a command that reports a failure in
 * its own result object, as `data verify` does, then fails): the error object is not added.
 */
export function jsonPrinted(): boolean {
  return printedJson;
}

/** Formats rows as an aligned text table (first row is the header; control bytes escaped). */
export function table(cells: readonly (readonly string[])[]): string {
  // cells may come from files (class names): their control bytes are escaped
  const rows = cells.map((r) => r.map((c) => escapeControl(c)));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A progress reporter: a bar with rate and ETA on a TTY, plain lines otherwise, nothing when quiet. */
export interface Progress {
  start(total: number, label: string): void;
  update(done: number, fields?: Record<string, string>): void;
  stop(summary?: string): void;
}

/** Progress on stderr (stdout stays clean for `--json`). */
export function makeProgress(opts: { quiet?: boolean } = {}): Progress {
  const stream = process.stderr;
  if (opts.quiet) return { start() {}, update() {}, stop() {} };
  if (stream.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    return {
      start(total, label) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${label} [{bar}] {value}/{total} | {rate} img/s | {info} | ETA {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { rate: '-', info: '' });
      },
      update(done, fields) {
        bar?.update(done, { rate: fields?.rate ?? '-', info: fields?.info ?? '' });
      },
      stop(summary) {
        bar?.stop();
        bar = undefined;
        if (summary) stream.write(`${summary}\n`);
      },
    };
  }
  let total = 0;
  let label = '';
  let lastPrinted = 0;
  let startedAt = 0;
  return {
    start(t, l) {
      total = t;
      label = l;
      lastPrinted = 0;
      startedAt = Date.now();
    },
    update(done, fields) {
      const now = Date.now();
      if (done < total && now - lastPrinted < 10_000) return;
      lastPrinted = now;
      const elapsed = (now - startedAt) / 1000;
      const eta = done > 0 ? ((total - done) * elapsed) / done : 0;
      const parts = [`${label} ${done}/${total}`];
      if (fields?.rate) parts.push(`${fields.rate} img/s`);
      if (fields?.info) parts.push(fields.info);
      parts.push(`eta ${eta.toFixed(0)}s`);
      stream.write(`${parts.join(' | ')}\n`);
    },
    stop(summary) {
      if (summary) stream.write(`${summary}\n`);
    },
  };
}

/**
 * The training hooks of one run of many (a sweep's point, an experiment's run): `progress` over
 * each epoch's batches, and a line per epoch, both named by `label`.
 */
export function labelledEpochProgress(progress: Progress, label: string): TrainHooks {
  return {
    onEpochStart: (e, n, batches) => progress.start(batches, `${label} epoch ${e + 1}/${n}`),
    onBatch: (_e, b, s) =>
      progress.update(b, { rate: s.imagesPerSecond.toFixed(0), info: `loss ${s.loss.toFixed(4)}` }),
    onEpochEnd: (m) =>
      progress.stop(
        `${label} epoch ${m.epoch + 1}: loss ${m.train_loss.toFixed(4)}, test ${pct(m.test_accuracy)}`,
      ),
  };
}

/** A one-line notice on stderr (control bytes escaped: it may quote a file). */
export function notice(line: string): void {
  process.stderr.write(`stcsnn: ${escapeControl(line)}\n`);
}
