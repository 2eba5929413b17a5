/**
 * File-system helpers that never hang and say what failed: creating a directory component by
 * component (Node's recursive `mkdir` loops forever on some file systems, e.g. under `/proc`),
 * a writability probe that also fails for root where the kernel refuses the write, reading a
 * user's path only when it is a regular file of a bounded size ({@link readRegularFile}: never
 * `/dev/zero`, a FIFO or a directory), and the one-line message of a failed file-system call
 * (`PATH: permission denied (EACCES)`).
 */
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  promises as fsp,
  readSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
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

/** What a file-system object is, in words (`a directory`, `a character device`, ...). */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Flags that open a user's path for reading without ever blocking: `O_NONBLOCK` makes opening a
 * FIFO without a writer return at once (it is then refused by its type), `O_NOCTTY` keeps a
 * terminal device from becoming the controlling terminal. Both are ignored for regular files.
 */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** Options of {@link readRegularFile}. */
export interface RegularFileOptions {
  /** The largest file accepted, in bytes (a larger one is refused before it is read). */
  readonly maxBytes: number;
  /** What the file is, for messages (`image`, `model file`, `data file`); default `file`. */
  readonly what?: string;
}

/** The largest file {@link readRegularFile} reads into one buffer (Node's limit for one read). */
export const MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * The largest file of a run directory or report read whole (`config.json`, `log.jsonl`,
 * `result.json`, `report.json`): 256 MiB.
 */
export const MAX_RUN_FILE_BYTES = 256 * 2 ** 20;

/** The largest model file read (a safetensors checkpoint or an ONNX file): 2 GiB. */
export const MAX_MODEL_FILE_BYTES = MAX_READ_BYTES;

/** `N bytes` with a binary unit for large sizes (`3.0 GiB`). */
function sizeText(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** `PATH: WHAT is not a regular file (KIND)`, naming a symbolic link's target. */
function notRegular(path: string, st: Stats, what: string): FileSystemError {
  let kind = fileKind(st);
  try {
    if (lstatSync(path).isSymbolicLink()) kind = `a symbolic link to ${realpathSync(path)}, ${kind}`;
  } catch {
    // the kind of the object opened is what matters
  }
  return new FileSystemError(`${path}: ${what} is not a regular file (${kind})`, 'EINVAL');
}

function tooLarge(path: string, size: number, opts: RegularFileOptions): FileSystemError {
  return new FileSystemError(
    `${path}: ${opts.what ?? 'file'} of ${sizeText(size)} exceeds the ${sizeText(opts.maxBytes)} limit`,
    'EFBIG',
  );
}

/**
 * Opens `path` for reading when it is a regular file (or a symbolic link to one) of at most
 * `opts.maxBytes` bytes; the caller closes the descriptor. Opening never blocks (a FIFO is
 * opened non-blocking and then refused), and the checks are made on the opened file (`fstat`),
 * so that the path cannot be swapped between the check and the read.
 * @throws FileSystemError naming the path when it is refused (`PATH: file is not a regular file
 *   (a character device)`, `PATH: file of 3.0 GiB exceeds the 2.0 GiB limit`); the failed call's
 *   own error, with its path, when it cannot be opened or read (ENOENT, EACCES, EIO)
 */
export function openRegularFile(path: string, opts: RegularFileOptions): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    throw withPath(e, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st, opts.what ?? 'file');
    if (st.size > opts.maxBytes) throw tooLarge(path, st.size, opts);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw withPath(e, path);
  }
}

/** The size of the `k`-th read of a file of `size` bytes: all of it, then 64 KiB to see its end, then doubling. */
function chunkSize(k: number, size: number, total: number): number {
  return k === 0 ? Math.max(size, 1) : Math.max(64 * 1024, k === 1 ? 0 : total);
}

/**
 * Reads the whole of `path` when it is a regular file of at most `opts.maxBytes` bytes (see
 * {@link openRegularFile}). Reading stops at `maxBytes` even when the file grows meanwhile, and
 * a file whose size is not known in advance (`/proc`) is read to its end within the same limit.
 * @throws FileSystemError naming the path, or the failed call's error (see {@link openRegularFile})
 */
export function readRegularFile(path: string, opts: RegularFileOptions): Buffer {
  const limit = Math.min(opts.maxBytes, MAX_READ_BYTES);
  const { fd, size } = openRegularFile(path, { ...opts, maxBytes: limit });
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (let k = 0; ; k++) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize(k, size, total), limit + 1 - total));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, null);
        if (n === 0) break;
        got += n;
      }
      if (got > 0) chunks.push(buf.subarray(0, got));
      total += got;
      if (total > limit) throw tooLarge(path, total, opts);
      if (got < buf.length) break; // the end of the file
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } catch (e) {
    throw withPath(e, path);
  } finally {
    closeSync(fd);
  }
}

/** {@link readRegularFile} without blocking the event loop while the bytes are read. */
export async function readRegularFileAsync(path: string, opts: RegularFileOptions): Promise<Buffer> {
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await fsp.open(path, READ_FLAGS);
  } catch (e) {
    throw withPath(e, path);
  }
  const limit = Math.min(opts.maxBytes, MAX_READ_BYTES);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, st, opts.what ?? 'file');
    if (st.size > limit) throw tooLarge(path, st.size, opts);
    const chunks: Buffer[] = [];
    let total = 0;
    for (let k = 0; ; k++) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize(k, st.size, total), limit + 1 - total));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got > 0) chunks.push(buf.subarray(0, got));
      total += got;
      if (total > limit) throw tooLarge(path, total, opts);
      if (got < buf.length) break;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } catch (e) {
    throw withPath(e, path);
  } finally {
    await fh.close();
  }
}

/** {@link readRegularFile} as UTF-8 text (`maxBytes` default {@link MAX_RUN_FILE_BYTES}). */
export function readRegularText(path: string, what = 'file', maxBytes = MAX_RUN_FILE_BYTES): string {
  return readRegularFile(path, { maxBytes, what }).toString('utf8');
}
