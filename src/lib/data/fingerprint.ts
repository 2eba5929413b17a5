/**
 * A fingerprint of the data a run read, so that two runs can be shown to have read the same
 * data (`--ann-from` refuses a twin whose fingerprint differs).
 *
 * It has two parts:
 * - the **files**: every regular file under the data set's `source` (a directory, walked
 *   recursively, names starting with `.` skipped; or one file): their count, total bytes and
 *   `files_sha256 = sha256(concat_f (relpath_f NUL size_f NUL sha256(content_f) LF))`, files in
 *   byte order of their relative paths. The per-file hashes are cached in
 *   {@link FINGERPRINT_CACHE_NAME} beside the data (or, where the data's folder is not writable,
 *   in the cache folder), keyed by path, size and modification time, so a second run re-reads
 *   nothing that did not change;
 * - the **samples as read**: the train and test sample counts (after limits) and
 *   `labels_sha256` over both splits' labels in reader order (int32, little-endian), which
 *   changes when a reader orders or selects samples differently from the same files.
 *
 * A data set with no files (`source` not a path: the embedded subset, memory) has `files: 0`
 * and `files_sha256: null`; its labels still fingerprint it.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.js';
import { openRegularFile, readRegularText } from '../util/fs.js';
import { defaultCacheDir } from './readers/util.js';
import type { Dataset } from './types.js';

/** The name of the per-file hash cache written beside the data (or in the cache folder). */
export const FINGERPRINT_CACHE_NAME = '.stcsnn-fingerprint.json';

/** What a run read (see the module doc). */
export interface DataFingerprint {
  /** The data set's source (a path, or `embedded`). */
  readonly source: string;
  /** Regular files under `source`. */
  readonly files: number;
  /** Their total size in bytes. */
  readonly bytes: number;
  /** `sha256:<hex>` over every file's relative path, size and content hash; null without files. */
  readonly files_sha256: string | null;
  /** Samples of the train split as read (after `limitTrain`). */
  readonly train_samples: number;
  /** Samples of the test split as read (after `limitTest`). */
  readonly test_samples: number;
  /** `sha256:<hex>` of the train labels then the test labels, in reader order. */
  readonly labels_sha256: string;
}

interface CacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** Regular files under `dir` (relative paths, byte order), names starting with `.` skipped. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    if (name.startsWith('.')) continue;
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(dir, r));
    if (st.isDirectory()) out.push(...walk(dir, r));
    else if (st.isFile()) out.push(r);
  }
  return out;
}

/**
 * `sha256` of a regular file's content, read in 1 MiB chunks (a data file of any size is hashed
 * in bounded memory; something that is not a regular file is refused, never read).
 */
function sha256OfFile(file: string): string {
  const { fd } = openRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'data file' });
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function cacheFileFor(root: string, cacheDir: string | undefined): string[] {
  const beside = path.join(root, FINGERPRINT_CACHE_NAME);
  const dir = cacheDir ?? defaultCacheDir();
  const elsewhere = path.join(dir, 'fingerprints', `${sha256(path.resolve(root)).slice(0, 16)}.json`);
  return [beside, elsewhere];
}

function readCache(files: readonly string[]): Record<string, CacheEntry> {
  for (const f of files) {
    try {
      const raw = JSON.parse(readRegularText(f)) as { files?: Record<string, CacheEntry> };
      if (raw && typeof raw.files === 'object' && raw.files !== null) return raw.files;
    } catch {
      // absent or unreadable: recompute
    }
  }
  return {};
}

function writeCache(files: readonly string[], entries: Record<string, CacheEntry>): void {
  for (const f of files) {
    try {
      writeJsonAtomic(f, { version: 1, files: entries });
      return;
    } catch {
      // not writable here: try the next place; a cache that cannot be written costs only time
    }
  }
}

/**
 * The files part of a fingerprint of `source` (a directory or a file); `{files: 0,
 * files_sha256: null}` when it is not a path on this machine.
 * @param cacheDir where the per-file hashes go when `source`'s folder is not writable
 *   (default `$STCSNN_CACHE` or `~/.cache/stcsnn`)
 */
export function fingerprintFiles(
  source: string,
  cacheDir?: string,
): Pick<DataFingerprint, 'files' | 'bytes' | 'files_sha256'> {
  let st: Stats;
  try {
    st = statSync(source);
  } catch {
    return { files: 0, bytes: 0, files_sha256: null };
  }
  const root = st.isDirectory() ? source : path.dirname(source);
  const rels = st.isDirectory() ? walk(root) : st.isFile() ? [path.basename(source)] : [];
  if (rels.length === 0) return { files: 0, bytes: 0, files_sha256: null };
  const caches = cacheFileFor(root, cacheDir);
  const cached = readCache(caches);
  const entries: Record<string, CacheEntry> = {};
  const all = createHash('sha256');
  let bytes = 0;
  let changed = false;
  for (const rel of rels) {
    const f = statSync(path.join(root, rel));
    let e = cached[rel];
    if (!e || e.size !== f.size || e.mtimeMs !== f.mtimeMs) {
      e = { size: f.size, mtimeMs: f.mtimeMs, sha256: sha256OfFile(path.join(root, rel)) };
      changed = true;
    }
    entries[rel] = e;
    bytes += f.size;
    all.update(`${rel}\0${f.size}\0${e.sha256}\n`);
  }
  // the cache holds exactly the files there now: a removed file's entry goes with it
  if (changed || Object.keys(cached).length !== rels.length) writeCache(caches, entries);
  return { files: rels.length, bytes, files_sha256: `sha256:${all.digest('hex')}` };
}

/** `sha256:<hex>` of the labels of the splits, in order (int32 little-endian). */
export function labelsHash(...splits: readonly Dataset[]): string {
  const h = createHash('sha256');
  for (const ds of splits) {
    const le = new Uint8Array(ds.labels.length * 4);
    const view = new DataView(le.buffer);
    ds.labels.forEach((v, i) => view.setInt32(4 * i, v, true));
    h.update(le);
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * The fingerprint of what a run reads: the files under the train split's source (the test
 * split's too where it differs: then `files`, `bytes` add up and the hash covers both) and the
 * labels of both splits in reader order.
 */
export function dataFingerprint(train: Dataset, test: Dataset, cacheDir?: string): DataFingerprint {
  const sources = train.source === test.source ? [train.source] : [train.source, test.source];
  const parts = sources.map((s) => fingerprintFiles(s, cacheDir));
  const hashed = parts.filter((p) => p.files_sha256 !== null);
  const filesSha =
    hashed.length === 0
      ? null
      : hashed.length === 1
        ? hashed[0].files_sha256
        : `sha256:${sha256(hashed.map((p) => p.files_sha256).join('\n'))}`;
  return {
    source: sources.join(', '),
    files: parts.reduce((a, p) => a + p.files, 0),
    bytes: parts.reduce((a, p) => a + p.bytes, 0),
    files_sha256: filesSha,
    train_samples: train.count,
    test_samples: test.count,
    labels_sha256: labelsHash(train, test),
  };
}
