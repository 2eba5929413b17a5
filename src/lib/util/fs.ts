/**
 * File-system helpers that never hang and say what failed: creating a directory component by
 * component (Node's recursive `mkdir` loops forever on some file systems, e.g. under `/proc`),
 * a writability probe that also fails for root where the kernel refuses the write, and the
 * one-line message of a failed file-system call (`PATH: permission denied (EACCES)`).
 */
import { accessSync, constants, mkdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

/** A failed file-system call (an `errno` error with a code and usually a path). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    typeof (e as NodeJS.ErrnoException).syscall === 'string'
  );
}

/**
 * A file-system failure as bad input (exit 2 on the CLI): one line naming the path, the reason
 * and the code, e.g. `cannot write in /x: read-only file system (EROFS)`.
 */
export class FileSystemError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'FileSystemError';
  }

  /** `what: reason (CODE)` when `what` is given, else {@link fsErrorMessage}. */
  static of(e: NodeJS.ErrnoException, what?: string): FileSystemError {
    const code = e.code ?? 'EIO';
    return new FileSystemError(
      what === undefined ? fsErrorMessage(e) : `${what}: ${REASONS[code] ?? code} (${code})`,
      code,
    );
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  ENOENT: 'no such file or directory',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ELOOP: 'too many symbolic links',
  EBUSY: 'resource busy',
  EXDEV: 'cross-device link',
};

/** `PATH: reason (CODE)`, one line, for a failed file-system call. */
export function fsErrorMessage(e: NodeJS.ErrnoException, fallbackPath?: string): string {
  const code = e.code ?? 'EIO';
  const path = e.path ?? fallbackPath;
  const reason =
    REASONS[code] ??
    e.message
      .split('\n')[0]
      .replace(/^[A-Z]+: /, '')
      .replace(/, \w+ '.*$/, '');
  return `${path ?? `(${e.syscall ?? 'file system'})`}: ${reason} (${code})`;
}

/**
 * Runs `fn`, which works on the file `path` through a file descriptor: a failed call there
 * (`write`, `fsync`, `close`: ENOSPC, EIO, EDQUOT) carries no path, so `path` is added to the
 * error, and every file-system error names its file.
 */
export function naming<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withPath(e, path);
  }
}

/** {@link naming} for asynchronous work. */
export async function namingAsync<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw withPath(e, path);
  }
}

function withPath(e: unknown, path: string): unknown {
  if (isFsError(e) && e.path === undefined) e.path = path;
  return e;
}

/** An `errno` error as the file-system calls throw it (for checks done by hand). */
function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${REASONS[code] ?? code}, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/**
 * Creates `dir` and its missing parents one component at a time (a bounded loop: at most one
 * `mkdir` per component), returning the directories it created, outermost first. A component
 * that exists and is not a directory fails with ENOTDIR naming it. When a component cannot be
 * created (ENAMETOOLONG, EACCES, ...), the directories this call created are removed again.
 * @throws NodeJS.ErrnoException of the first failing component
 */
export function makeDirs(dir: string): string[] {
  const target = resolve(dir);
  const chain: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  const created: string[] = [];
  try {
    for (const p of chain) {
      let st: ReturnType<typeof statSync> | undefined;
      try {
        st = statSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (st) {
        if (!st.isDirectory()) throw fsError('ENOTDIR', 'mkdir', p);
        continue;
      }
      try {
        mkdirSync(p);
      } catch (e) {
        // another process (a second rank, say) made it between the stat and the mkdir: not ours
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) continue;
        throw e;
      }
      created.push(p);
    }
  } catch (e) {
    removeCreatedDirs(created);
    throw e;
  }
  return created;
}

/**
 * Removes directories {@link makeDirs} created (outermost first), innermost first, while they
 * are empty: `rmdir` only, so that nothing another process put there meanwhile is deleted.
 */
export function removeCreatedDirs(created: readonly string[]): void {
  for (const p of [...created].reverse()) {
    try {
      rmdirSync(p);
    } catch {
      return; // not empty any more, or gone: keep it and its parents
    }
  }
}

/**
 * Checks that files can be created in the existing directory `dir`: `access(W_OK)` (which
 * root passes) and then a real probe file created and removed, which also fails for root on a
 * read-only or immutable directory, or on a pseudo file system.
 * @throws NodeJS.ErrnoException naming `dir`
 */
export function checkWritableDir(dir: string): void {
  const st = statSync(dir);
  if (!st.isDirectory()) throw fsError('ENOTDIR', 'open', dir);
  accessSync(dir, constants.W_OK);
  const probe = `${dir}${dir.endsWith(sep) ? '' : sep}.stcsnn-write-test.${process.pid}.tmp`;
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') return;
    throw fsError(err.code ?? 'EACCES', err.syscall ?? 'open', dir);
  }
  rmSync(probe, { force: true });
}

/**
 * The nearest existing ancestor of `path` (itself when it exists): where a file or directory
 * that does not exist yet would be created.
 */
export function existingAncestor(path: string): string {
  let p = resolve(path);
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/**
 * Checks, before any work, that a file can be written at `file` (its folder created when
 * missing): the nearest existing ancestor must be a writable directory.
 * @throws NodeJS.ErrnoException naming the folder that cannot be written
 */
export function checkWritableFileTarget(file: string): void {
  const anc = existingAncestor(dirname(resolve(file)));
  checkWritableDir(anc);
}

/**
 * {@link checkWritableDir} (or, for a file, {@link checkWritableFileTarget}) with a one-line
 * error: `WHAT PATH is not writable: reason (CODE)`.
 * @throws FileSystemError
 */
export function assertWritable(path: string, what: string, kind: 'dir' | 'file' = 'dir'): void {
  try {
    if (kind === 'dir') checkWritableDir(path);
    else checkWritableFileTarget(path);
  } catch (e) {
    if (isFsError(e)) {
      const where = e.path && e.path !== resolve(path) ? ` (${e.path})` : '';
      throw FileSystemError.of(e, `${what} ${path} is not writable${where}`);
    }
    throw e;
  }
}
