/**
 * Safe, cached extraction of `.tar.gz` archives (CIFAR's official downloads).
 *
 * An archive is extracted once into `<cacheDir>/extracted/<archive name>-<key>/`, where the key
 * hashes the archive's absolute path, size and modification time (a changed archive is extracted
 * again). Extraction goes into a temporary sibling directory which is renamed into place only when
 * complete, so a crash never leaves a half-extracted folder that a later run would trust.
 *
 * Before anything is written the whole archive is listed and every entry checked; the archive is
 * refused (a {@link DataError} naming the archive and the entry) when an entry
 * - has an absolute path (`/x`, `C:\x`) or a `..` path segment,
 * - is a symbolic link whose target is absolute, resolves outside the extraction folder or is
 *   not normalised (`a/..`),
 * - is a hard link whose target is absolute or contains `..`,
 * - is a device, FIFO or other special file.
 * - would unpack to more than `maxBytes` (default 8 GiB; a guard against archive bombs),
 * - is a symbolic link to or through a symbolic link (itself included),
 * - is a link whose target, read from the archive root, is a parent folder of the entry or
 *   inside it (node-tar's path reservations would wait forever),
 * - repeats a path (except a directory), lies at or below a symbolic link entry, or puts a
 *   file or link where another entry needs a directory (node-tar can hang or fail half-way on
 *   such archives; no data set archive has them).
 * Extraction itself runs in node-tar's strict mode (no writing through symbolic links, every
 * warning an error).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tar from 'tar';
import { DataError } from '../types.js';
import { tempSibling } from '../../util/atomic.js';

/** Default limit on the unpacked size of an archive: 8 GiB. */
export const DEFAULT_MAX_EXTRACT_BYTES = 8 * 1024 ** 3;

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Splits an archive path into segments on `/` and `\`. */
function segments(p: string): string[] {
  return p.split(/[\\/]+/).filter((s) => s.length > 0 && s !== '.');
}

/** True for a path that is absolute on POSIX or Windows. */
function isAbsoluteAny(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p);
}

/**
 * Lexically resolves `target` relative to the folder `baseSegs` (segments from the extraction
 * root); returns null when it climbs above the root.
 */
function resolveInside(baseSegs: readonly string[], target: string): string[] | null {
  const out = [...baseSegs];
  for (const s of segments(target)) {
    if (s === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(s);
  }
  return out;
}

/**
 * Why an archive entry is refused, or null when it is safe to extract.
 * @param entryPath the path stored in the archive
 * @param type node-tar's entry type (`File`, `Directory`, `SymbolicLink`, `Link`, ...)
 * @param linkpath the link target for links
 */
export function unsafeEntryReason(
  entryPath: string,
  type: string,
  linkpath: string | undefined,
): string | null {
  if (isAbsoluteAny(entryPath)) return 'absolute path';
  if (entryPath.includes('\0')) return 'NUL in path';
  const segs = segments(entryPath);
  if (segs.includes('..')) return "'..' in path";
  if (!ALLOWED_TYPES.has(type)) return `unsupported entry type ${type}`;
  if (type === 'SymbolicLink') {
    const target = linkpath ?? '';
    if (target === '' || isAbsoluteAny(target))
      return `symbolic link to absolute or empty target '${target}'`;
    if (resolveInside(segs.slice(0, -1), target) === null) {
      return `symbolic link pointing outside the archive ('${target}')`;
    }
    // 'a/..' inside a target: node-tar can wait forever on such links (its path reservations).
    const t = segments(target);
    if (t.some((seg, i) => seg === '..' && i > 0 && t[i - 1] !== '..')) {
      return `symbolic link with a non-normalised target ('${target}')`;
    }
  }
  if (type === 'SymbolicLink' || type === 'Link') {
    // node-tar reserves the entry's path and its link target read from the archive root; when
    // one is a parent folder of the other, extraction waits for itself forever.
    const fromRoot = resolveInside([], linkpath ?? '');
    if (fromRoot !== null && fromRoot.length > 0 && fromRoot.length !== segs.length) {
      const [short, long] = fromRoot.length < segs.length ? [fromRoot, segs] : [segs, fromRoot];
      if (short.every((s, i) => s === long[i])) {
        return `link target '${linkpath}' (from the archive root) contains or is contained in the entry`;
      }
    }
  }
  if (type === 'Link') {
    const target = linkpath ?? '';
    if (target === '' || isAbsoluteAny(target) || segments(target).includes('..')) {
      return `hard link pointing outside the archive ('${target}')`;
    }
  }
  return null;
}

/**
 * The paths an archive's entries occupy: refuses repeated paths (except directories), entries
 * at or below a symbolic link entry, and a file or link where a directory is needed.
 */
class EntryLayout {
  private readonly kinds = new Map<string, 'dir' | 'link' | 'file'>();
  /** Symbolic links: path -> lexically resolved target (both from the extraction root). */
  private readonly links = new Map<string, string>();

  /** Why a symbolic link points at or through a symbolic link (itself included), or null. */
  linkProblem(): string | null {
    for (const [p, target] of this.links) {
      const t = target.split('/');
      for (let i = 1; i <= t.length; i++) {
        const at = t.slice(0, i).join('/');
        if (this.links.has(at)) return `entry '${p}': symbolic link through the symbolic link '${at}'`;
      }
    }
    return null;
  }

  /** Records an entry; returns why it conflicts with earlier ones, or null. */
  add(entryPath: string, type: string, linkpath?: string): string | null {
    const segs = segments(entryPath);
    const kind = type === 'Directory' ? 'dir' : type === 'SymbolicLink' ? 'link' : 'file';
    for (let i = 1; i < segs.length; i++) {
      const parent = segs.slice(0, i).join('/');
      const k = this.kinds.get(parent);
      if (k === 'link') return `lies below the symbolic link '${parent}'`;
      if (k === 'file') return `needs '${parent}' as a directory, but it is a file`;
      this.kinds.set(parent, 'dir');
    }
    const key = segs.join('/');
    const before = this.kinds.get(key);
    if (before !== undefined && !(before === 'dir' && kind === 'dir'))
      return before === 'link' ? 'replaces a symbolic link' : 'repeats a path';
    this.kinds.set(key, kind);
    if (kind === 'link')
      this.links.set(key, (resolveInside(segs.slice(0, -1), linkpath ?? '') ?? []).join('/'));
    return null;
  }
}

/** Message of an unknown thrown value. */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/**
 * Lists the archive and throws a {@link DataError} for its first unsafe entry (see the module
 * doc) or when it cannot be read (truncated, not gzip, not tar).
 * @returns the number of entries
 */
export async function checkTarGz(archive: string, maxBytes = DEFAULT_MAX_EXTRACT_BYTES): Promise<number> {
  let bad: string | null = null;
  let count = 0;
  let bytes = 0;
  const layout = new EntryLayout();
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        count++;
        if (bad !== null) return;
        const reason =
          unsafeEntryReason(entry.path, entry.type, entry.linkpath) ??
          layout.add(entry.path, entry.type, entry.linkpath);
        if (reason !== null) bad = `entry '${entry.path}': ${reason}`;
        bytes += entry.size ?? 0;
        if (bad === null && bytes > maxBytes)
          bad = `entry '${entry.path}': unpacks to more than ${maxBytes} bytes`;
      },
    });
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${archive}: not a readable .tar.gz archive (${messageOf(e)})`);
  }
  bad ??= layout.linkProblem();
  if (bad !== null) throw new DataError(`${archive}: refused, ${bad}`);
  if (count === 0) throw new DataError(`${archive}: empty archive`);
  return count;
}

/** The folder {@link extractTarGzCached} extracts `archive` into. */
export function extractionDir(archive: string, cacheDir: string): string {
  const abs = path.resolve(archive);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw new DataError(`${archive}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, path: abs, size: st.size, mtimeMs: st.mtimeMs }))
    .digest('hex')
    .slice(0, 16);
  const base = path.basename(abs).replace(/\.(tar\.gz|tgz)$/i, '');
  return path.join(cacheDir, 'extracted', `${base}-${key}`);
}

/**
 * Extracts `archive` (a `.tar.gz`) once into the cache and returns the extraction folder (see the
 * module doc for the location, atomicity and the safety checks). Later calls for the same,
 * unchanged archive return the existing folder without reading the archive.
 */
export async function extractTarGzCached(
  archive: string,
  cacheDir: string,
  maxBytes = DEFAULT_MAX_EXTRACT_BYTES,
): Promise<string> {
  const dest = extractionDir(archive, cacheDir);
  if (fs.existsSync(dest)) return dest;
  await checkTarGz(archive, maxBytes);
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempSibling(dest);
  await fs.promises.mkdir(tmp);
  try {
    try {
      await tar.x({
        file: archive,
        cwd: tmp,
        strict: true,
        preservePaths: false,
        preserveOwner: false,
        filter: (p, entry) => {
          const e = entry as tar.ReadEntry;
          return unsafeEntryReason(p, e.type, e.linkpath) === null;
        },
      });
    } catch (e) {
      throw new DataError(`${archive}: extraction failed (${messageOf(e)})`);
    }
    try {
      await fs.promises.rename(tmp, dest);
    } catch (e) {
      // Another process finished first: use its folder.
      if (!fs.existsSync(dest)) throw e;
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return dest;
}
