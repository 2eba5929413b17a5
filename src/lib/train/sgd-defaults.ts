/**
 * SGD's default hyper-parameters: the training configuration's defaults
 * (`src/app/config/config.ts`) and the web page's. Browser-safe (the browser entry exports it;
 * the configuration needs Node).
 */
export const SGD_DEFAULTS = Object.freeze({
  /** Momentum of the SGD update. */
  momentum: 0.9,
  /** L2 weight decay (not on learned thresholds). */
  weightDecay: 5e-4,
  /** Nesterov momentum. */
  nesterov: false,
} as const);
