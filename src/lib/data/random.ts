/**
 * A small deterministic PRNG for data order, augmentation and anything else that must be
 * reproducible from a seed (the trainer can reuse it).
 *
 * The generator is mulberry32 (Tommy Ettinger, public domain): a 32-bit state advanced by
 * the Weyl constant `0x6D2B79F5` and a xorshift-multiply output mix. It has period 2^32,
 * which is ample for shuffles and augmentation draws; it is not cryptographic.
 *
 * Seeds for independent streams are derived with {@link mixSeed}, which folds any number of
 * integers (e.g. `(seed, epoch, sample)`) through the murmur3 finaliser, so that the stream for
 * one key depends only on that key.
 */

/** The murmur3 32-bit finaliser: a bijective avalanche mix of a 32-bit integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives a 32-bit seed from a list of integers (each taken modulo 2^32; non-integers are
 * truncated). `mixSeed(a, b)` and `mixSeed(b, a)` differ, as do `mixSeed(a)` and `mixSeed(a, 0)`.
 */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9 ^ parts.length;
  for (const p of parts) {
    // split the value into 32-bit halves so seeds above 2^32 still matter
    const v = Math.trunc(p);
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = fmix32((h ^ lo) + 0x7f4a7c15);
    if (hi !== 0) h = fmix32((h ^ hi) + 0x165667b1);
  }
  return h >>> 0;
}

/** A seeded mulberry32 generator. Same seed, same sequence, on every platform. */
export class Rng {
  private state: number;

  /** @param seed any number; only its low 32 bits (after truncation) are used. */
  constructor(seed: number) {
    this.state = Math.trunc(seed) >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float uniform in `[0, 1)` with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer uniform in `[0, n)`, `1 <= n <= 2^32` (rejection sampling, no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`Rng.int: bad bound ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** A standard normal deviate (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** A permutation of `0..n-1` drawn from `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
}
