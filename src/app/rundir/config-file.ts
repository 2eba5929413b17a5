/**
 * A run's `config.json`: the resolved {@link TrainConfig} (the schema of `config/config.ts`) and
 * its hash under `config_hash` (what a resume compares it with). Written first by the trainer,
 * rewritten by a resume that changes a resumable field, read by `--resume`, the CLI and the
 * analysis.
 */
import { writeJsonAtomic } from '../../lib/util/atomic.js';
import { FileSystemError, isFsError, readRegularText } from '../../lib/util/fs.js';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import { CONFIG_HASH_KEY, configHash } from '../config/config-hash.js';
import { checkTrainConfig, type TrainConfig } from '../config/config.js';
import { ConfigError } from '../../lib/core/config.js';
import { isRecord, readJsonFile } from './json.js';
import { runFile } from './layout.js';
import { provenanceChanges, provenanceOf, type Provenance } from './provenance.js';

/**
 * Writes `config.json` of a run directory: the configuration, its hash (`config_hash`) and the
 * run's provenance at its start (`provenance.ts`): the one given, else the one the file already
 * holds (a resume that rewrites the configuration keeps it). The schema of the configuration
 * ignores both keys when reading.
 */
export function writeRunConfig(runDir: string, config: TrainConfig, given?: Provenance): void {
  let provenance = given;
  if (provenance === undefined) {
    try {
      provenance = provenanceOf(readConfigJson(runDir));
    } catch {
      // no readable config.json yet: nothing to keep
    }
  }
  writeJsonAtomic(runFile(runDir, 'config'), {
    ...config,
    [CONFIG_HASH_KEY]: configHash(config),
    ...(provenance ? { provenance } : {}),
  });
}

/**
 * The configuration's own fields of a `config.json` as read (`readConfigJson`): what
 * {@link writeRunConfig} adds, `config_hash` and `provenance`, left out.
 */
export function configFields(raw: Record<string, unknown>): Record<string, unknown> {
  const { [CONFIG_HASH_KEY]: _hash, provenance: _provenance, ...config } = raw;
  return config;
}

/** The `config_hash` stored in a run's `config.json` (undefined for runs written before it). */
export function storedConfigHash(runDir: string): string | undefined {
  try {
    const raw = JSON.parse(readRegularText(runFile(runDir, 'config'))) as Record<string, unknown>;
    const h = raw[CONFIG_HASH_KEY];
    return typeof h === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads and validates `config.json` of a run directory.
 * @throws FileSystemError when it cannot be read (`PATH: permission denied (EACCES)`);
 *   CheckpointError when it is not JSON; ConfigError for a bad configuration
 */
export function readRunConfig(runDir: string): TrainConfig {
  const p = runFile(runDir, 'config');
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularText(p, 'run configuration'));
  } catch (e) {
    if (isFsError(e)) throw FileSystemError.of(e);
    if (e instanceof FileSystemError) throw e;
    throw new CheckpointError(`${p}: ${(e as Error).message.split('\n')[0]}`);
  }
  return checkTrainConfig(raw, p);
}

/**
 * `config.json` of a run directory as written, unvalidated (the analysis reads configurations
 * of any age, and flat ones, leniently).
 * @throws ConfigError when it is missing, not JSON or not an object
 */
export function readConfigJson(runDir: string): Record<string, unknown> {
  const p = runFile(runDir, 'config');
  const config = readJsonFile(p);
  if (!isRecord(config)) throw new ConfigError(`${p}: expected a JSON object`);
  return config;
}

/**
 * `now` (the finishing invocation's provenance) with `changed_since_start`: the fields that
 * differ from the provenance `config.json` recorded at the run's start (empty when the run
 * started without one recorded: then nothing is known to have changed, and nothing is claimed).
 */
export function withChangesSinceStart(runDir: string, now: Provenance): Provenance {
  let start: Provenance | undefined;
  try {
    start = provenanceOf(readConfigJson(runDir));
  } catch {
    start = undefined;
  }
  return { ...now, changed_since_start: start ? provenanceChanges(start, now) : [] };
}
