/**
 * Crash-safe file writes: write to a temporary name in the same directory, fsync, rename
 * over the target, fsync the directory. A reader never sees a half-written file. One writer
 * for the whole package, synchronous and asynchronous.
 */
import { closeSync, fsyncSync, openSync, promises as fsp, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeDirs, naming, namingAsync } from './fs.js';

let counter = 0;

/**
 * A temporary name beside `target` (same directory, so that a rename over `target` is
 * atomic), unique to this process and call, hidden and ending in `.tmp`.
 */
export function tempSibling(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${counter++}.tmp`);
}

/** Whether a file name is one {@link tempSibling} makes (a write a killed process left behind). */
export function isTempSibling(name: string): boolean {
  return /^\..+\.\d+\.\d+\.tmp$/.test(name);
}

/** Writes `data` to `path` atomically (creating the parent directory). */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  makeDirs(dir);
  const tmp = tempSibling(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    // a write through the descriptor (ENOSPC, EIO) names no file: name the target
    naming(path, () => {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
      closeSync(fd);
    });
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // the write's error matters more
      }
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  }
}

/**
 * `writeFileAtomic` without blocking the event loop (readers' caches written while batches
 * load): the same temporary sibling, fsync and rename.
 */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string): Promise<void> {
  makeDirs(dirname(path));
  const tmp = tempSibling(path);
  try {
    const fh = await fsp.open(tmp, 'w');
    await namingAsync(path, async () => {
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Writes `value` as pretty JSON atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
