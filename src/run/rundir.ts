/**
 * Creating and clearing run directories (the layout is in `layout.ts`): a fresh name under
 * `runs/`, the checks before a run writes a directory, and removing an earlier run's files
 * for `--force`.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../core/config.js';
import type { TrainConfig } from '../train/config.js';
import { isTempSibling, writeJsonAtomic } from '../util/atomic.js';
import { RUN_FILE_NAMES, RUN_FILES, seedOfDirName } from './layout.js';

/** Where runs go when no directory is named. */
export const RUNS_ROOT = 'runs';

/**
 * A run directory that does not exist yet: `runs/<dataset>-<arch>-<mode>-T<T>-<yyyymmdd-hhmmss>`
 * (UTC), with `-2`, `-3`, ... appended while the name is taken.
 */
export function freshRunDir(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const base = resolve(
    RUNS_ROOT,
    `${config.dataset}-${config.arch}-${config.mode}-T${config.stc.T}-${stamp}`,
  );
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return dir;
}

/**
 * Removes an earlier run's files from `dir` (and its `seed-<n>` run folders, and temporaries
 * a killed writer left), so that a forced run never leaves another run's checkpoint or result
 * beside its own. Every other file stays.
 */
export function clearRunFiles(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && (RUN_FILE_NAMES.includes(e.name) || isTempSibling(e.name))) rmSync(p);
    else if (e.isDirectory() && seedOfDirName(e.name) !== null && existsSync(join(p, RUN_FILES.config))) {
      clearRunFiles(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    }
  }
}

/**
 * Makes `dir` ready for a new run: created if missing, refused when it is a file or (without
 * `force`) not empty, an earlier run's files removed with `force`, and checked writable.
 * @throws ConfigError naming the directory and what is wrong
 */
export function prepareRunDir(dir: string, force: boolean): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new ConfigError(`run directory ${dir} is a file`);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) {
      throw new ConfigError(
        `run directory ${dir} exists and is not empty (use --force to overwrite, or --resume ${dir})`,
      );
    }
    try {
      clearRunFiles(dir);
    } catch (e) {
      throw new ConfigError(
        `run directory ${dir}: cannot remove the earlier run's files: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  }
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, '.write-test.json');
    writeJsonAtomic(probe, {});
    rmSync(probe);
  } catch (e) {
    throw new ConfigError(`run directory ${dir} is not writable: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The directory of a run to resume, checked: it must hold `config.json`.
 * @throws ConfigError when it does not
 */
export function resumableRunDir(dir: string): string {
  const runDir = resolve(dir);
  if (!existsSync(join(runDir, RUN_FILES.config)))
    throw new ConfigError(`--resume: ${runDir} has no ${RUN_FILES.config}`);
  return runDir;
}
