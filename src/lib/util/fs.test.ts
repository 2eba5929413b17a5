/**
 * Every file-system error names its file (issue 24, case 5): a write through a file descriptor
 * that fails (ENOSPC) carries no path of its own. Tested with an injected error, and with a real
 * full disk (a 48 KiB tmpfs) where one can be mounted (as root with CAP_SYS_ADMIN).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../app/rundir/lock.js';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic.js';
import { FileSystemError, fsErrorMessage } from './fs.js';

const root = mkdtempSync(join(tmpdir(), 'stcsnn-fs-'));
const mnt = join(root, 'small');
mkdirSync(mnt);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', mnt]).status === 0;
after(() => {
  if (mounted) spawnSync('umount', [mnt]);
  rmSync(root, { recursive: true, force: true });
});

/** The error `write(2)` gives on a full disk: a code and a syscall, no path. */
function enospc(): NodeJS.ErrnoException {
  const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
  e.code = 'ENOSPC';
  e.errno = -28;
  e.syscall = 'write';
  return e;
}

/** Runs `fn` with `fs[name]` failing with ENOSPC (the named ESM imports too). */
async function withFullDisk(name: 'writeSync', fn: () => Promise<void> | void): Promise<void> {
  const m = mock.method(fs, name, () => {
    throw enospc();
  });
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    m.mock.restore();
    syncBuiltinESMExports();
  }
}

describe('a failed write through a file descriptor names the file', () => {
  it('writeFileAtomic: the target file, and no temporary is left', async () => {
    const dir = join(root, 'sync');
    mkdirSync(dir);
    const target = join(dir, 'last.safetensors');
    await withFullDisk('writeSync', () => {
      assert.throws(
        () => writeFileAtomic(target, 'x'),
        (e: NodeJS.ErrnoException) => {
          assert.equal(e.path, target);
          assert.equal(fsErrorMessage(e), `${target}: no space left on the device (ENOSPC)`);
          assert.equal(FileSystemError.of(e).message, `${target}: no space left on the device (ENOSPC)`);
          return true;
        },
      );
    });
    assert.deepEqual(readdirSync(dir), []);
  });

  it('writeFileAtomicAsync: the target file', async () => {
    const dir = join(root, 'async');
    mkdirSync(dir);
    const target = join(dir, 'cache.bin');
    const open = fs.promises.open.bind(fs.promises);
    const m = mock.method(fs.promises, 'open', async (p: string, flags: string) => {
      const fh = await open(p, flags);
      mock.method(fh, 'writeFile', () => Promise.reject(enospc()));
      return fh;
    });
    try {
      await assert.rejects(writeFileAtomicAsync(target, 'x'), (e: NodeJS.ErrnoException) => {
        assert.equal(e.path, target);
        return true;
      });
    } finally {
      m.mock.restore();
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the lock file: its directory', async () => {
    const dir = join(root, 'lock');
    mkdirSync(dir);
    await withFullDisk('writeSync', () => {
      assert.throws(
        () => acquireLock(dir),
        (e: Error) => {
          assert.equal(e.message, `cannot write in ${dir}: no space left on the device (ENOSPC)`);
          return true;
        },
      );
    });
    assert.deepEqual(readdirSync(dir), []);
  });
});

it(
  'stcsnn train on a full disk: exit 2, one line naming the file',
  { skip: mounted ? false : 'a small tmpfs cannot be mounted here (needs root)' },
  () => {
    const cli = fileURLToPath(new URL('../../app/cli/main.js', import.meta.url));
    const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
    const out = join(mnt, 'run');
    const r = spawnSync(
      process.execPath,
      [cli, 'train', '--limit-train', '16', '--limit-test', '16', '--width', '0.125', '--T', '2'].concat([
        '--epochs',
        '1',
        '--threads',
        '1',
        '--backend',
        backend,
        '--out',
        out,
      ]),
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 2, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0],
      new RegExp(`^stcsnn: error: ${out}/[a-z.]+: no space left on the device \\(ENOSPC\\)$`),
    );
  },
);

it('escapeControl writes control bytes from files as \\xHH (issue 33, minor)', async () => {
  const { escapeControl } = await import('./text.js');
  assert.equal(
    escapeControl('\x1b]0;title\x07red \x1b[31mX\x7f\u009b'),
    '\\x1b]0;title\\x07red \\x1b[31mX\\x7f\\x9b',
  );
  assert.equal(escapeControl('a\nb\tc', '\n'), 'a\nb\\x09c');
  assert.equal(escapeControl('plain é 中'), 'plain é 中');
});
