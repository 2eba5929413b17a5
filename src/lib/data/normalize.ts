/** Input normalisation on flat float arrays (no Node imports; shared by the loader, `predict` and the browser build). */
import type { Normalization } from './types.js';

/**
 * Normalises `n` samples of `[.., C]` floats in place: `x' = (x / scale - mean[c]) / std[c]`.
 * `mean`/`std` of length 1 apply to every channel.
 */
export function normalizeInPlace(x: Float32Array, channels: number, norm: Normalization): void {
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const m = norm.mean.length === 1 ? norm.mean[0] : norm.mean[c];
    const s = norm.std.length === 1 ? norm.std[0] : norm.std[c];
    a[c] = 1 / (norm.scale * s);
    b[c] = -m / s;
  }
  if (channels === 1) {
    const a0 = a[0];
    const b0 = b[0];
    for (let i = 0; i < x.length; i++) x[i] = x[i] * a0 + b0;
    return;
  }
  for (let i = 0; i < x.length; i += channels) {
    for (let c = 0; c < channels; c++) x[i + c] = x[i + c] * a[c] + b[c];
  }
}

/** Checks a normalisation against a channel count. @throws RangeError */
export function checkNormalization(norm: Normalization, channels: number): void {
  const ok = (v: readonly number[]) => v.length === 1 || v.length === channels;
  if (!ok(norm.mean) || !ok(norm.std))
    throw new RangeError(
      `normalization has ${norm.mean.length} means / ${norm.std.length} stds for ${channels} channels`,
    );
  if (!(norm.scale > 0) || norm.std.some((s) => !(s > 0)))
    throw new RangeError('normalization scale and std must be > 0');
}
