/**
 * Creating, preparing, guarding and recognising run directories (the layout is in `layout.ts`):
 * what a directory is (a run, a repeat group, a sweep), a fresh name
 * under `runs/`, the checks before a run writes a directory, removing an earlier run's files for
 * `--force`, and {@link withRunDir}, the frame every writer runs in: the directory created
 * component by component (no path can hang), its lock held for the whole command (`lock.ts`),
 * writability checked before any work, and on failure what the command created removed.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../lib/core/config.js';
import type { TrainConfig } from '../config/config.js';
import { isTempSibling } from '../../lib/util/atomic.js';
import {
  assertWritable,
  checkWritableDir,
  existingAncestor,
  FileSystemError,
  fsErrorMessage,
  isFsError,
  makeDirs,
} from '../../lib/util/fs.js';
import { readRunState } from './checkpoint.js';
import {
  LOCK_FILE,
  RUN_FILE_NAMES,
  RUN_FILES,
  runFile,
  seedOfDirName,
  sweepFile,
  SWEEP_FILES,
} from './layout.js';
import { acquireLock, onInterrupt } from './lock.js';

/** What a directory holds: a run, a repeat group, a sweep. */
export type DirKind = 'run' | 'repeats' | 'sweep';

/** True when `dir` holds a run (`config.json`). */
export function isRunDir(dir: string): boolean {
  return existsSync(runFile(dir, 'config'));
}

/** The run directories of a repeat group: `seed-<n>/` sub-folders, by seed. */
export function repeatRunDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => seedOfDirName(n) !== null && statSync(join(dir, n)).isDirectory())
    .sort((a, b) => (seedOfDirName(a) ?? 0) - (seedOfDirName(b) ?? 0))
    .map((n) => join(dir, n));
}

/** What kind of directory `dir` is. @throws ConfigError when it is none of them */
export function dirKind(dir: string): DirKind {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${dir} is not a directory`);
  if (existsSync(sweepFile(dir, 'sweep'))) return 'sweep';
  if (existsSync(runFile(dir, 'repeats')) || repeatRunDirs(dir).length > 0) return 'repeats';
  if (isRunDir(dir)) return 'run';
  throw new ConfigError(
    `${dir} is not a run, repeat group or sweep directory (no ${RUN_FILES.config}, ${RUN_FILES.repeats} or ${SWEEP_FILES.sweep})`,
  );
}

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
 * beside its own. Every other file stays (the lock too).
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

/** Removes the temporary files of writes a killed process left behind (`.<name>.<pid>.<n>.tmp`). */
export function removeStaleTemporaries(runDir: string): void {
  for (const n of readdirSync(runDir)) {
    if (isTempSibling(n)) rmSync(join(runDir, n), { force: true });
  }
}

/** The entries of `dir` other than its lock (and a lock's temporaries). */
function contents(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== LOCK_FILE && !n.startsWith(`.${LOCK_FILE}`));
}

/**
 * Makes `dir` ready for a new run: created if missing (component by component), refused when
 * it is a file or (without `force`) not empty, an earlier run's files removed with `force`, and
 * checked writable.
 * @throws ConfigError naming the directory and what is wrong; FileSystemError when it cannot be
 *   created or written
 */
export function prepareRunDir(dir: string, force: boolean): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new ConfigError(`run directory ${dir} is a file`);
  if (existsSync(dir) && contents(dir).length > 0) {
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
  createDirs(dir, 'run directory');
  writableDir(dir, 'run directory');
}

/** `makeDirs` with a one-line error. */
function createDirs(dir: string, what: string): string[] {
  try {
    return makeDirs(dir);
  } catch (e) {
    if (isFsError(e)) throw new FileSystemError(`cannot create ${what} ${dir}: ${fsErrorMessage(e)}`, e.code);
    throw e;
  }
}

/** `checkWritableDir` with a one-line error. */
function writableDir(dir: string, what: string): void {
  assertWritable(dir, what);
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

/** Whether `dir` or a directory below it (to depth 3) holds a checkpoint (something to resume). */
export function hasCheckpoint(dir: string, depth = 3): boolean {
  if (existsSync(runFile(dir, 'last'))) return true;
  if (depth === 0) return false;
  try {
    return readdirSync(dir, { withFileTypes: true }).some(
      (e) => e.isDirectory() && hasCheckpoint(join(dir, e.name), depth - 1),
    );
  } catch {
    return false;
  }
}

/** The run (itself or a `seed-<n>/` in it) with the newest checkpoint, and that checkpoint's epoch. */
export function latestCheckpoint(dir: string): { dir: string; epoch: number } | null {
  const dirs = [
    dir,
    ...readdirSync(dir)
      .filter((n) => seedOfDirName(n) !== null)
      .map((n) => join(dir, n)),
  ];
  let best: { dir: string; epoch: number; mtime: number } | null = null;
  for (const d of dirs) {
    const last = runFile(d, 'last');
    if (!existsSync(last)) continue;
    const mtime = statSync(last).mtimeMs;
    if (best && best.mtime >= mtime) continue;
    try {
      best = { dir: d, epoch: readRunState(last).epoch, mtime };
    } catch {
      // an unreadable checkpoint is not one to resume from
    }
  }
  return best && { dir: best.dir, epoch: best.epoch };
}

/** How {@link withRunDir} treats the directory. */
export type RunDirKind =
  /** a new run (or repeat group): created when missing, refused when not empty (unless `force`) */
  | 'new'
  /** an existing run being resumed: nothing is created or cleared */
  | 'resume'
  /** a resumable output directory (sweep, experiment): created when missing, kept as it is */
  | 'keep';

/** What an interrupted command saved. */
export interface InterruptInfo {
  readonly signal: NodeJS.Signals;
  readonly dir: string;
  /** The newest checkpoint (the run it belongs to, its 0-based epoch); null when none. */
  readonly checkpoint: { dir: string; epoch: number } | null;
  /** Whether the directory was removed (created by this command, nothing saved in it). */
  readonly removed: boolean;
}

/** Options of {@link withRunDir}. */
export interface RunDirOptions {
  readonly kind: RunDirKind;
  /** With `new`: clear an earlier run's files instead of refusing a non-empty directory. */
  readonly force?: boolean;
  /** The command recorded in the lock (default: this process's command line). */
  readonly command?: string;
  /** Notices (a stale lock taken over). */
  readonly onNotice?: (line: string) => void;
  /** Called on SIGINT/SIGTERM, after the clean-up, before the process exits (130 / 143). */
  readonly onInterrupt?: (info: InterruptInfo) => void;
  /** What the directory is, in errors (`run directory`, `sweep directory`). */
  readonly what?: string;
}

/** Removes the directories in `created` (outermost first) that are empty, innermost first. */
function removeEmptyDirs(created: readonly string[]): void {
  for (const p of [...created].reverse()) {
    try {
      if (contents(p).length === 0) rmSync(p, { recursive: true });
    } catch {
      return;
    }
  }
}

/**
 * Removes what a failed command created in `dir` when nothing resumable was saved: the
 * directory itself (and the parents it created, when empty) when the command created it, else
 * the run files it wrote. A directory that holds a checkpoint is kept (it can be resumed).
 * Returns whether something was removed.
 */
function cleanUpFailed(dir: string, created: readonly string[], kind: RunDirKind): boolean {
  if (kind === 'resume' || hasCheckpoint(dir)) return false;
  try {
    if (created.length) {
      rmSync(dir, { recursive: true, force: true });
      removeEmptyDirs(created.slice(0, -1));
      return true;
    }
    if (kind === 'new') clearRunFiles(dir);
  } catch {
    // a parent that is not empty any more, or a file that went away: keep what is left
  }
  return false;
}

/**
 * Runs `fn` as the one writer of the directory `dir`: checks that it can be created and
 * written before any work, creates it component by component, takes its lock (held until `fn`
 * settles or the process exits; a second writer gets a LockError naming this one), prepares
 * it (`new`: empty, or cleared with `force`), and when `fn` fails or the process is
 * interrupted removes what this command created if nothing resumable was saved.
 * @throws FileSystemError when the directory cannot be created or written; LockError when
 *   another live process writes it; ConfigError for a non-empty `new` directory
 */
export async function withRunDir<T>(dir: string, opts: RunDirOptions, fn: () => Promise<T>): Promise<T> {
  const abs = resolve(dir);
  const what = opts.what ?? 'run directory';
  let created: string[] = [];
  if (opts.kind === 'resume') {
    if (!existsSync(abs) || !statSync(abs).isDirectory())
      throw new ConfigError(`${what} ${abs} does not exist`);
  } else {
    if (existsSync(abs) && !statSync(abs).isDirectory()) throw new ConfigError(`${what} ${abs} is a file`);
    // the nearest existing folder must be a writable directory before anything is created
    if (!existsSync(abs)) {
      const anc = existingAncestor(abs);
      try {
        checkWritableDir(anc);
      } catch (e) {
        if (isFsError(e)) throw FileSystemError.of(e, `cannot create ${what} ${abs}: ${anc} is not writable`);
        throw e;
      }
    }
    created = createDirs(abs, what);
  }
  let lock;
  try {
    lock = acquireLock(abs, { command: opts.command, onNotice: opts.onNotice });
  } catch (e) {
    removeEmptyDirs(created);
    throw e;
  }
  let prepared = false; // before that, the directory's files are an earlier run's
  const unregister = onInterrupt((signal) => {
    const removed = prepared && cleanUpFailed(abs, created, opts.kind);
    const checkpoint = removed || !existsSync(abs) ? null : latestCheckpoint(abs);
    opts.onInterrupt?.({ signal, dir: abs, checkpoint, removed });
  });
  try {
    if (opts.kind === 'new') prepareRunDir(abs, opts.force === true);
    writableDir(abs, what);
    prepared = true;
    return await fn();
  } catch (e) {
    if (prepared) cleanUpFailed(abs, created, opts.kind);
    else removeEmptyDirs(created);
    throw e;
  } finally {
    unregister();
    lock.release();
  }
}
