/** The paper's protocol over repeats: mean, (sample) standard deviation and best test accuracy. */

/** Summary of repeated runs. */
export interface RepeatSummary {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for one run. */
  readonly stddev: number;
  readonly best: number;
  readonly count: number;
}

/** Summarises the final test accuracy of each run. */
export function summarizeRepeats(runs: readonly { test_accuracy: number }[]): RepeatSummary {
  const xs = runs.map((r) => r.test_accuracy);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stddev: Math.sqrt(variance), best: Math.max(...xs), count: n };
}
