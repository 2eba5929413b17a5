/**
 * Learning-rate schedules.
 *
 * - `cosine`: `lr(i) = lr0 * (1 + cos(pi * i / N)) / 2` per iteration `i` of `N` in the run,
 *   decaying to 0 (smooth also for short runs).
 * - `step`: `lr0 * gamma^floor(epoch / every)` (the paper's Fashion-MNIST protocol: x0.5 every 20 epochs).
 * - `constant`: `lr0`.
 *
 * A run extended with `--resume RUN --epochs N` uses the new N as `epochs`: `cosine` is
 * recomputed over the new total and continues from the resumed step (the rate rises from the
 * old end's, near 0, to `lr0 (1 + cos(pi i / (N perEpoch))) / 2` and decays to 0 at epoch N);
 * `step` and `constant` do not depend on the total and simply continue.
 */
export const LR_SCHEDULES = ['cosine', 'step', 'constant'] as const;
/** The name of a learning-rate schedule. */
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/** A learning-rate schedule: its name, the initial rate and the `step` schedule's parameters. */
export interface LrSchedule {
  readonly name: LrScheduleName;
  /** The initial learning rate `lr0`. */
  readonly lr: number;
  /** For `step`: epochs between decays and the factor. */
  readonly stepEvery: number;
  readonly stepGamma: number;
}

/** The learning rate at iteration `iter` (0-based) of epoch `epoch`, with `perEpoch` iterations and `epochs` epochs. */
export function learningRate(
  s: LrSchedule,
  epoch: number,
  iter: number,
  perEpoch: number,
  epochs: number,
): number {
  switch (s.name) {
    case 'constant':
      return s.lr;
    case 'step':
      return s.lr * Math.pow(s.stepGamma, Math.floor(epoch / s.stepEvery));
    case 'cosine': {
      const total = Math.max(1, perEpoch * epochs);
      const i = epoch * perEpoch + iter;
      return (s.lr * (1 + Math.cos((Math.PI * i) / total))) / 2;
    }
  }
}
