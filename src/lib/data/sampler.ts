/**
 * The distributed sampler: how the ranks split every epoch.
 *
 * Every rank draws the same permutation of the epoch from the seed (the loader's `order(e)`),
 * cut into global batches of `B = b * W` samples (`b` the per-rank batch size, `W` the world
 * size). Rank `r` takes the contiguous slice `[r*b, (r+1)*b)` of each global batch, so the
 * shards are disjoint and together they are exactly the batches one process with batch size
 * `B` would see.
 *
 * The remainder (the last global batch, `R = N mod B` samples, `0 < R < B`) is split as evenly
 * as possible: the first `R mod W` ranks take `ceil(R/W)` samples, the others `floor(R/W)`.
 * Each shard carries its weight `n_r / R` (`1/W` for full batches): a rank scales its
 * mean-loss gradient by its weight and the ranks sum, which is the gradient of the mean loss
 * over the global batch, as one process computes it. When `R < W` some rank would have no
 * sample, so the remainder is dropped (those `R` samples are not seen that epoch; the
 * permutation differs every epoch).
 */

/** A rank's share of one global batch. */
export interface Shard {
  /** Data-set indices of this rank's samples. */
  readonly indices: Uint32Array;
  /** `n_r / R`: this shard's size over the global batch's size. */
  readonly weight: number;
}

/** Number of steps in an epoch of `samples` with per-rank batch `batch` over `worldSize` ranks. */
export function stepsPerEpoch(samples: number, batch: number, worldSize: number): number {
  const B = batch * worldSize;
  const full = Math.floor(samples / B);
  const rest = samples - full * B;
  return full + (rest >= worldSize ? 1 : 0);
}

/**
 * Rank `rank`'s shards of an epoch whose sample order is `order` (the same on every rank).
 * With `worldSize` 1 these are the batches of `order` cut every `batch` samples, the last short.
 */
export function shardEpoch(order: Uint32Array, batch: number, rank: number, worldSize: number): Shard[] {
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be an integer >= 1; got ${batch}`);
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`worldSize must be >= 1; got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`rank must be in [0, ${worldSize}); got ${rank}`);
  const B = batch * worldSize;
  const steps = stepsPerEpoch(order.length, batch, worldSize);
  const out: Shard[] = [];
  for (let s = 0; s < steps; s++) {
    const start = s * B;
    const R = Math.min(B, order.length - start);
    const small = Math.floor(R / worldSize);
    const big = R % worldSize;
    const n = small + (rank < big ? 1 : 0);
    const off = rank * small + Math.min(rank, big);
    out.push({ indices: order.subarray(start + off, start + off + n), weight: n / R });
  }
  return out;
}
