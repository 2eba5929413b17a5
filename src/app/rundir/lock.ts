/**
 * One writer per directory: an exclusive lock file (`LOCK_FILE` in `layout.ts`) that every
 * writer of a run, repeat group, sweep or experiment directory takes before it writes and holds
 * until it exits (normally, with an error, or on SIGINT/SIGTERM).
 *
 * - The lock is `{pid, host, command, since}` as JSON, written to a temporary sibling and then
 *   hard-linked to the lock's name: `link` fails with EEXIST when the lock exists (it is the
 *   O_EXCL of a complete file), so a lock is never seen half-written.
 * - A lock whose process is gone (same host, no process with its pid) is stale: it is taken over
 *   with a notice, under a second, short-lived guard lock so that two processes never both take
 *   it over. A lock of another host cannot be checked and is never taken over.
 * - Locks are re-entrant within a process (the CLI locks a run directory, the trainer locks it
 *   again): each `acquireLock` needs its `release`.
 * - While a lock is held, SIGINT and SIGTERM run the registered interrupt handlers
 *   ({@link onInterrupt}), release every lock and exit with 130 / 143.
 */
import { closeSync, fsyncSync, linkSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { tempSibling } from '../../lib/util/atomic.js';
import { FileSystemError, isFsError, readRegularText } from '../../lib/util/fs.js';
import { LOCK_FILE } from './layout.js';

/** Who holds a lock (the lock file's content). */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The command line of the holder (`stcsnn train --out runs/a`). */
  readonly command: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/** A directory another process is writing (exit 2 on the CLI). */
export class LockError extends Error {
  constructor(
    message: string,
    readonly holder?: LockHolder,
  ) {
    super(message);
    this.name = 'LockError';
  }
}

/** A held lock. */
export interface RunLock {
  readonly dir: string;
  readonly path: string;
  /** Releases this hold (the file is removed with the last hold of this process). */
  release(): void;
}

/** The command line of this process, as a user would type it. */
export function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : JSON.stringify(a)));
  return ['stcsnn', ...args].join(' ');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | null | 'missing' {
  let text: string;
  try {
    text = readRegularText(path, 'lock file', 2 ** 20);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return { pid: h.pid, host: h.host, command: String(h.command ?? '?'), since: String(h.since ?? '?') };
    }
  } catch {
    // fall through: not a lock this package wrote
  }
  return null;
}

/** `process 123 on host (stcsnn train ..., since ...)`. */
export function describeHolder(h: LockHolder): string {
  return `process ${h.pid} on ${h.host} (${h.command}, since ${h.since})`;
}

/** Creates `path` holding `holder` atomically; false when it exists. */
function createExclusive(path: string, holder: LockHolder): boolean {
  const tmp = tempSibling(path);
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
    fsyncSync(fd);
  } catch (e) {
    rmSync(tmp, { force: true }); // a full disk leaves no half-written lock behind
    throw e;
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

const held = new Map<string, { count: number; holder: LockHolder }>();
const interruptHandlers = new Set<(signal: NodeJS.Signals) => void>();

/**
 * Registers `fn` to run (synchronously) when SIGINT or SIGTERM arrives while a lock is held,
 * before the locks are released and the process exits. Returns the unregistration.
 */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  interruptHandlers.add(fn);
  return () => interruptHandlers.delete(fn);
}

function onSignal(signal: NodeJS.Signals): void {
  for (const fn of [...interruptHandlers].reverse()) {
    try {
      fn(signal);
    } catch {
      // the exit below matters more than a failed message or clean-up
    }
  }
  releaseAllLocks();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function installSignals(): void {
  if (held.size !== 1) return;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', releaseAllLocks);
}

function removeSignals(): void {
  if (held.size !== 0) return;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', releaseAllLocks);
}

function unlinkIfOurs(path: string): void {
  const h = readHolder(path);
  if (h !== 'missing' && h !== null && h.pid === process.pid && h.host === hostname()) {
    try {
      unlinkSync(path);
    } catch {
      // gone already (its directory removed)
    }
  }
}

/** Releases every lock this process holds (signal and exit paths). */
export function releaseAllLocks(): void {
  for (const path of held.keys()) unlinkIfOurs(path);
  held.clear();
  removeSignals();
}

/**
 * Takes the lock of `dir` (which must exist).
 * @param opts.command what to record as the holder's command (default: this process's command line)
 * @param opts.onNotice receives the notice when a stale lock is taken over
 * @throws LockError naming the holder when a live process (or another host) holds it; an
 *   `errno` error when the lock cannot be written (e.g. EACCES, EROFS: a read-only directory)
 */
export function acquireLock(
  dir: string,
  opts: { command?: string; onNotice?: (line: string) => void } = {},
): RunLock {
  const path = join(resolve(dir), LOCK_FILE);
  const mine = held.get(path);
  const handle = (): RunLock => {
    let released = false;
    return {
      dir: resolve(dir),
      path,
      release: () => {
        if (released) return;
        released = true;
        const h = held.get(path);
        if (!h) return;
        if (--h.count > 0) return;
        held.delete(path);
        unlinkIfOurs(path);
        removeSignals();
      },
    };
  };
  if (mine) {
    mine.count++;
    return handle();
  }
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: opts.command ?? commandLine(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 4; attempt++) {
    let created: boolean;
    try {
      created = createExclusive(path, holder);
    } catch (e) {
      if (isFsError(e)) throw FileSystemError.of(e, `cannot write in ${resolve(dir)}`);
      throw e;
    }
    if (created) {
      held.set(path, { count: 1, holder });
      installSignals();
      return handle();
    }
    const other = readHolder(path);
    if (other === 'missing') continue; // released meanwhile: try again
    if (other === null)
      throw new LockError(
        `${dir} is locked by ${path}, which is not a lock this program wrote; remove it if no stcsnn command is writing ${dir}`,
      );
    const stale = other.host === holder.host && !alive(other.pid) && other.pid !== process.pid;
    if (!stale) {
      throw new LockError(
        `${dir} is being written by ${describeHolder(other)}; wait for it to finish${other.host === holder.host ? '' : `, or remove ${path} if that process is gone`}`,
        other,
      );
    }
    takeOver(path, other, holder, opts.onNotice);
  }
  throw new LockError(`cannot take the lock ${path}: it keeps changing hands`);
}

/** Removes the stale lock `path` of `stale`, under a guard lock; bounded. */
function takeOver(path: string, stale: LockHolder, me: LockHolder, onNotice?: (line: string) => void): void {
  const guard = `${path}.takeover`;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createExclusive(guard, me)) {
      try {
        const now = readHolder(path);
        if (now !== 'missing' && now !== null && JSON.stringify(now) === JSON.stringify(stale)) {
          unlinkSync(path);
          onNotice?.(
            `taking over the stale lock ${path} of ${describeHolder(stale)}, which is no longer running`,
          );
        }
      } finally {
        rmSync(guard, { force: true });
      }
      return;
    }
    const g = readHolder(guard);
    if (g !== 'missing' && g !== null && g.host === me.host && alive(g.pid)) return; // it takes over
    rmSync(guard, { force: true }); // a taker-over that died
  }
}
