/**
 * The hash of a run's identity (its configuration without the fields a resume may change,
 * `RESUME_MAY_CHANGE` in `config.ts`): `sha256:<hex>` of the canonical JSON of
 * `runIdentity(config)`. Stored in every checkpoint (metadata `stcsnn.config_hash`) and in
 * `config.json` (`config_hash`), so that a resume can tell that `config.json` was edited.
 */
import { createHash } from 'node:crypto';
import { runIdentity, type TrainConfig } from './config.js';

/** The key of the hash in `config.json` (the schema ignores it when reading). */
export const CONFIG_HASH_KEY = 'config_hash';

/** `sha256:<64 hex digits>` of the run-defining fields of `config`. */
export function configHash(config: TrainConfig): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(runIdentity(config)))
    .digest('hex')}`;
}

/** A configuration with its hash (`configHash`): the identity a run's files store. */
export interface HashedConfig {
  readonly config: TrainConfig;
  readonly hash: string;
}

/** `config` with its hash (the run record computes it once, and every checkpoint it writes stores it). */
export function hashedConfig(config: TrainConfig): HashedConfig {
  return { config, hash: configHash(config) };
}
