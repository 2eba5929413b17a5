/**
 * The data loader: batches of a {@link Dataset}, shuffled, augmented and normalised, with
 * background prefetch.
 *
 * Determinism: the order of epoch `e` is a permutation drawn from `Rng(mixSeed(seed, 0x5f, e))`,
 * so it depends only on `(seed, e)`: a run resumed at epoch `e` sees the same order. The
 * augmentation of sample `i` in epoch `e` draws from `Rng(mixSeed(seed, 0xa6, e, i))`, so it
 * does not depend on batch size, prefetch depth, or which thread assembled the batch.
 *
 * Augmentation (training only, in this order): zero-padding by `crop` pixels on every side
 * (zeros in the raw scale, i.e. black, before normalisation; as torchvision's
 * `RandomCrop(size, padding=p)`), a random `H x W` crop of the padded image (offsets uniform in
 * `0..2p`), then a horizontal flip with probability 1/2. Normalisation is then per channel,
 * `x' = (x / scale - mean[c]) / std[c]`.
 *
 * Prefetch: up to `prefetch` batches beyond the one being consumed are assembled ahead. With
 * `workers > 0` and a data set exposing its uint8 pixels (`raw`, see {@link RawPixels}), batch
 * assembly runs on `worker_threads`, so it overlaps the (synchronous) training step; otherwise it
 * runs on the main thread, which overlaps asynchronous `read`s (I/O, decoding) but not compute.
 * Memory is bounded by `prefetch + 1` batches in flight.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { shardEpoch, stepsPerEpoch, type Shard } from './sampler.js';
import { mixSeed, permutation, Rng } from './random.js';
import type { Batch, Dataset, Normalization } from './types.js';
import { checkNormalization, normalizeInPlace } from './normalize.js';

export { normalizeInPlace, checkNormalization } from './normalize.js';

/** Training-time augmentation. */
export interface AugmentOptions {
  /** Zero padding `p` for the random crop (0 = no crop). */
  readonly crop: number;
  /** Random horizontal flip with probability 1/2. */
  readonly flip: boolean;
}

/** Options of {@link DataLoader}. */
export interface LoaderOptions {
  /** Samples per batch (>= 1). */
  readonly batchSize: number;
  /** Shuffle every epoch (seeded); otherwise file order. */
  readonly shuffle: boolean;
  /** Augmentation, or null for none (evaluation). */
  readonly augment: AugmentOptions | null;
  /** Per-channel normalisation, or null to keep the raw scale. */
  readonly normalization: Normalization | null;
  /** Seed of the order and the augmentation (any integer). */
  readonly seed: number;
  /** Drop the last short batch (default false). */
  readonly dropLast?: boolean;
  /** Batches assembled ahead of the consumer (default 2; 0 = assemble on demand). */
  readonly prefetch?: number;
  /** Use only the first `limit` samples of the data set. */
  readonly limit?: number;
  /**
   * Worker threads for batch assembly (default 0 = main thread; `'auto'` = 1 when the data set
   * exposes `raw` pixels, a batch holds at least 64 Ki values and the machine has at least 4
   * cores, else 0). Assembly costs about 1-2 ms per 32 CIFAR-sized images on one core, far
   * below a training step, so the main thread is the default; workers start in ~0.1-0.5 s.
   */
  readonly workers?: number | 'auto';
  /**
   * Data-parallel training: this process is rank `rank` of `worldSize` and reads only its shard
   * of every global batch of `batchSize * worldSize` samples (the distributed sampler,
   * `src/lib/data/sampler.ts`: the same seeded order on every rank, contiguous slices, the
   * remainder split as evenly as possible and dropped when smaller than the world size). Each
   * batch carries its {@link Batch.weight}. Default: rank 0 of 1 (every sample, weight 1).
   */
  readonly shard?: { readonly rank: number; readonly worldSize: number };
}

/** Time the consumer spent waiting for data, for the trainer's data-time report. */
export interface LoaderStats {
  /** Milliseconds spent inside `next()` of the epoch iterators (waiting or assembling). */
  waitMs: number;
  /** Batches delivered. */
  batches: number;
  /** Samples delivered. */
  samples: number;
}

/**
 * Data sets that hold all samples as uint8 in memory may expose them, `[count, H, W, C]`
 * row-major, so that worker threads can assemble batches without calling `read`.
 */
export interface RawPixels {
  readonly raw: Uint8Array;
}

function hasRaw(ds: Dataset): ds is Dataset & RawPixels {
  const r = (ds as Partial<RawPixels>).raw;
  return r instanceof Uint8Array && r.length >= ds.count * ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** The draws of one sample's augmentation. */
export interface AugmentDraw {
  /** Crop offset in the padded image, `0..2p`. */
  readonly dx: number;
  readonly dy: number;
  readonly flip: boolean;
}

/** The augmentation draw of dataset sample `index` in `epoch`. */
export function augmentDraw(seed: number, epoch: number, index: number, aug: AugmentOptions): AugmentDraw {
  const rng = new Rng(mixSeed(seed, 0xa6, epoch, index));
  const p = Math.max(0, Math.floor(aug.crop));
  const dx = p > 0 ? rng.int(2 * p + 1) : 0;
  const dy = p > 0 ? rng.int(2 * p + 1) : 0;
  const flip = aug.flip ? rng.next() < 0.5 : false;
  return { dx, dy, flip };
}

/**
 * Crops (with zero padding `pad`) and optionally flips one `[H, W, C]` sample.
 * `out[y][x] = padded[y + dy][flip ? W - 1 - x + dx : x + dx]`, where `padded` is `src` with
 * `pad` zero pixels on every side. `src` and `out` must not overlap.
 */
export function cropFlip(
  src: ArrayLike<number>,
  srcOffset: number,
  out: Float32Array,
  outOffset: number,
  shape: readonly [number, number, number],
  pad: number,
  draw: AugmentDraw,
): void {
  const [H, W, C] = shape;
  for (let y = 0; y < H; y++) {
    const sy = y + draw.dy - pad;
    const rowOut = outOffset + y * W * C;
    if (sy < 0 || sy >= H) {
      out.fill(0, rowOut, rowOut + W * C);
      continue;
    }
    const rowIn = srcOffset + sy * W * C;
    for (let x = 0; x < W; x++) {
      const sx = (draw.flip ? W - 1 - x : x) + draw.dx - pad;
      const o = rowOut + x * C;
      if (sx < 0 || sx >= W) {
        for (let c = 0; c < C; c++) out[o + c] = 0;
      } else {
        const i = rowIn + sx * C;
        for (let c = 0; c < C; c++) out[o + c] = src[i + c];
      }
    }
  }
}

/**
 * Augments and normalises one batch of raw samples (shared by the main thread and workers).
 * @param indices data-set indices of the samples (they seed the augmentation)
 * @param raw `[indices.length, H, W, C]` raw-scale samples; normalised in place when there is
 *   no augmentation
 * @returns `[indices.length, H, W, C]` ready for the model
 */
export function assembleBatch(
  indices: ArrayLike<number>,
  shape: readonly [number, number, number],
  raw: Float32Array,
  augment: AugmentOptions | null,
  normalization: Normalization | null,
  seed: number,
  epoch: number,
): Float32Array {
  const len = shape[0] * shape[1] * shape[2];
  let x = raw;
  if (augment && (augment.crop > 0 || augment.flip)) {
    x = new Float32Array(raw.length);
    const pad = Math.max(0, Math.floor(augment.crop));
    for (let k = 0; k < indices.length; k++)
      cropFlip(raw, k * len, x, k * len, shape, pad, augmentDraw(seed, epoch, indices[k], augment));
  }
  if (normalization) normalizeInPlace(x, shape[2], normalization);
  return x;
}

interface WorkerJob {
  id: number;
  indices: Uint32Array;
  epoch: number;
}

interface WorkerReply {
  id: number;
  x?: Float32Array;
  error?: string;
}

/** A pool of batch-assembly workers over shared uint8 pixels. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (x: Float32Array) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private rr = 0;
  private closing = false;
  /** Set once a worker failed: later jobs reject at once instead of waiting forever. */
  private dead: Error | null = null;

  constructor(
    n: number,
    pixels: Uint8Array,
    shape: readonly [number, number, number],
    augment: AugmentOptions | null,
    normalization: Normalization | null,
    seed: number,
  ) {
    const shared = new Uint8Array(new SharedArrayBuffer(pixels.length));
    shared.set(pixels);
    const url = new URL('./loader-worker.js', import.meta.url);
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: { pixels: shared, shape, augment, normalization, seed } });
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        if (m.x) p.resolve(m.x);
        else p.reject(new Error(m.error ?? 'loader worker failed'));
      });
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (!this.closing) this.failAll(new Error(`loader worker exited with code ${code}`));
      });
      w.unref();
      this.workers.push(w);
    }
  }

  private failAll(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const w of this.workers) w.unref();
  }

  run(indices: Uint32Array, epoch: number): Promise<Float32Array> {
    if (this.dead) return Promise.reject(this.dead);
    // a copy: posting a subarray would clone the whole epoch order
    indices = indices.slice();
    const id = this.nextId++;
    const w = this.workers[this.rr++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // keep the process alive while a job is out; idle workers never hold it open
      for (const x of this.workers) x.ref();
      const job: WorkerJob = { id, indices, epoch };
      w.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.failAll(new Error('loader closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** Batches over a {@link Dataset}; see the module doc for order, augmentation and prefetch. */
export class DataLoader {
  /** Samples used per epoch (`min(count, limit)`). */
  readonly samples: number;
  /** Batches per epoch (the last one short unless `dropLast`). */
  readonly batchesPerEpoch: number;
  /** Data-wait statistics, cumulative over epochs; reset with {@link resetStats}. */
  readonly stats: LoaderStats = { waitMs: 0, batches: 0, samples: 0 };
  private readonly prefetch: number;
  private pool: WorkerPool | null = null;
  private closed = false;

  constructor(
    readonly dataset: Dataset,
    readonly options: LoaderOptions,
  ) {
    const bs = options.batchSize;
    if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${bs}`);
    if (options.normalization) checkNormalization(options.normalization, dataset.shape[2]);
    const limit = options.limit === undefined ? dataset.count : Math.max(0, Math.floor(options.limit));
    this.samples = Math.min(dataset.count, limit);
    const world = options.shard?.worldSize ?? 1;
    this.batchesPerEpoch = options.dropLast
      ? Math.floor(this.samples / (bs * world))
      : stepsPerEpoch(this.samples, bs, world);
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? 2));
    const len = dataset.shape[0] * dataset.shape[1] * dataset.shape[2];
    let workers = options.workers ?? 0;
    if (workers === 'auto')
      workers = hasRaw(dataset) && bs * len >= 65536 && availableParallelism() >= 4 ? 1 : 0;
    if (workers > 0 && hasRaw(dataset)) {
      this.pool = new WorkerPool(
        Math.floor(workers),
        dataset.raw.subarray(0, this.samples * len),
        dataset.shape,
        options.augment,
        options.normalization,
        options.seed,
      );
    }
  }

  /** Whether batches are assembled on worker threads. */
  get usesWorkers(): boolean {
    return this.pool !== null;
  }

  /** The sample order of epoch `e` (a permutation of `0..samples-1`; identity without shuffle). */
  order(e: number): Uint32Array {
    if (!this.options.shuffle) {
      const p = new Uint32Array(this.samples);
      for (let i = 0; i < p.length; i++) p[i] = i;
      return p;
    }
    return permutation(this.samples, new Rng(mixSeed(this.options.seed, 0x5f, e)));
  }

  /** Zeroes {@link stats}. */
  resetStats(): void {
    this.stats.waitMs = 0;
    this.stats.batches = 0;
    this.stats.samples = 0;
  }

  /** This rank's batches of epoch `e`: index slices of {@link order}`(e)` with their weights. */
  shards(e: number): Shard[] {
    const { rank = 0, worldSize = 1 } = this.options.shard ?? {};
    return shardEpoch(this.order(e), this.options.batchSize, rank, worldSize).slice(0, this.batchesPerEpoch);
  }

  private async assemble(indices: Uint32Array, epoch: number, weight: number): Promise<Batch> {
    const ds = this.dataset;
    const shape = ds.shape;
    const y = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) y[k] = ds.labels[indices[k]];
    if (this.pool) {
      const x = await this.pool.run(indices, epoch);
      return { x, y, size: indices.length, shape, weight };
    }
    const len = shape[0] * shape[1] * shape[2];
    const raw = new Float32Array(indices.length * len);
    const pending: Promise<void>[] = [];
    for (let k = 0; k < indices.length; k++) {
      const r = ds.read(indices[k], raw, k * len);
      if (r) pending.push(r);
    }
    if (pending.length > 0) await Promise.all(pending);
    const o = this.options;
    const x = assembleBatch(indices, shape, raw, o.augment, o.normalization, o.seed, epoch);
    return { x, y, size: indices.length, shape, weight };
  }

  /** The batches of epoch `e` (0-based), in the order {@link order}`(e)` (this rank's {@link shards}). */
  async *epoch(e: number): AsyncGenerator<Batch, void, undefined> {
    if (this.closed) throw new Error('DataLoader is closed');
    const shards = this.shards(e);
    const nb = shards.length;
    const queue: Promise<Batch>[] = [];
    let next = 0;
    const enqueue = () => {
      const { indices, weight } = shards[next];
      next++;
      const p = this.assemble(indices, e, weight);
      p.catch(() => {}); // rejections surface when this batch is awaited
      queue.push(p);
    };
    for (let b = 0; b < nb; b++) {
      const t0 = performance.now();
      // keep the batch being awaited plus `prefetch` more in flight
      while (next < nb && queue.length < this.prefetch + 1) enqueue();
      const batch = await queue.shift()!;
      this.stats.waitMs += performance.now() - t0;
      this.stats.batches++;
      this.stats.samples += batch.size;
      yield batch;
    }
  }

  /** Stops the worker threads (if any). The loader cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pool) await this.pool.close();
    this.pool = null;
  }
}
