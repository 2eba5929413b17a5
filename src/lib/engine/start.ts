/**
 * The one backend start-up loop of both entries: Node's `initBackend` (`backend.ts`) and the
 * browser's `initBrowserBackend` (`browser-backend.ts`) hand it their candidates in order, and it
 * makes the first that starts the active TensorFlow.js backend, with the stcsnn kernels
 * registered (`registerAll`). Browser-safe.
 *
 * Per candidate: its `check` (may load the backend; throwing skips it, with the message as the
 * reason), `registerAll(name)`, `tf.setBackend(name)` and `tf.ready()` (throwing or reporting
 * failure skips it). A {@link ConfigError} from a check ends the loop at once: the request is
 * wrong, not the backend missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../core/config.js';
import { registerAll } from './kernel-registry.js';

/** A backend to try. */
export interface BackendCandidate<N extends string> {
  readonly name: N;
  /** Checks that the backend can start here, or loads it; throws (saying why) where it cannot. */
  readonly check?: () => void | Promise<void>;
}

/** Why a candidate did not start. */
export interface StartFailure<N extends string> {
  readonly name: N;
  /** `check`: its check threw; `start`: `tf.setBackend` or `tf.ready` threw, or it failed to initialise. */
  readonly stage: 'check' | 'start';
  /** The message of what was thrown, or `failed to initialise`. */
  readonly reason: string;
  /** What was thrown; undefined where the backend only reported that it failed. */
  readonly error?: unknown;
}

/** No candidate started; {@link BackendStartError.failures} says why, candidate by candidate. */
export class BackendStartError<N extends string = string> extends Error {
  constructor(readonly failures: readonly StartFailure<N>[]) {
    super(`no backend could start (${failures.map((f) => `${f.name}: ${f.reason}`).join('; ')})`);
    this.name = 'BackendStartError';
  }
}

/** The candidate that started, and why those before it did not. */
export interface StartedBackend<N extends string> {
  readonly name: N;
  readonly skipped: readonly StartFailure<N>[];
}

/**
 * Starts the first of `candidates` that starts here.
 * @throws ConfigError from a candidate's check; BackendStartError when none starts
 */
export async function startFirstBackend<N extends string>(
  candidates: readonly BackendCandidate<N>[],
): Promise<StartedBackend<N>> {
  const failures: StartFailure<N>[] = [];
  for (const { name, check } of candidates) {
    try {
      await check?.();
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      failures.push({ name, stage: 'check', reason: (e as Error).message, error: e });
      continue;
    }
    registerAll(name);
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch (e) {
      failures.push({ name, stage: 'start', reason: (e as Error).message, error: e });
      continue;
    }
    if (ok) return { name, skipped: failures };
    failures.push({ name, stage: 'start', reason: 'failed to initialise' });
  }
  throw new BackendStartError(failures);
}
