/**
 * The training loss within an epoch, by batch window: the epoch's `B` batches are cut into
 * `W = min(LOSS_WINDOWS, B)` consecutive windows of `ceil(B / W)` batches (the last may be
 * shorter), and each window's loss is the sample-weighted mean `sum(loss_b * n_b) / sum(n_b)` of
 * its batches. `log.jsonl` records them per epoch (`train_loss_windows`), so that the training
 * curves of a short run (one epoch) show how its loss went, not a single point.
 */

/** At most this many windows per epoch. */
export const LOSS_WINDOWS = 10;

/** Accumulates one epoch's batch losses into windows. */
export class LossWindows {
  private readonly size: number;
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];

  /** @param batchesPerEpoch the epoch's batch count `B` (>= 1) */
  constructor(batchesPerEpoch: number, windows = LOSS_WINDOWS) {
    const b = Math.max(1, batchesPerEpoch);
    this.size = Math.ceil(b / Math.min(windows, b));
  }

  /** Adds batch `index` (0-based) with mean loss `loss` over `n` samples. */
  add(index: number, loss: number, n: number): void {
    const w = Math.floor(index / this.size);
    this.sums[w] = (this.sums[w] ?? 0) + loss * n;
    this.counts[w] = (this.counts[w] ?? 0) + n;
  }

  /** The windows' mean losses, in order (windows without a batch are left out). */
  means(): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.sums.length; w++)
      if (this.counts[w] > 0) out.push(this.sums[w] / this.counts[w]);
    return out;
  }
}
