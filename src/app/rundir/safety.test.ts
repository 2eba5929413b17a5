/**
 * Run directories that cannot be corrupted (issue 14), with real `stcsnn` processes: one writer
 * per directory (a second exits 2 naming the holder), a resume during a running training refused,
 * a stale lock of a SIGKILLed process taken over, Ctrl-C's one line and exit 130, read-only and
 * impossible directories refused before any training, a failed run leaving nothing behind, an
 * edited config.json refused, and `--resume RUN --epochs N`. Nothing waits on a clock: every
 * step waits for a file the other process writes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeDirs } from '../../lib/util/fs.js';
import { LOCK_FILE, runFile } from './layout.js';
import { acquireLock, LockError } from './lock.js';
import { CLI, runCli } from '../cli/cli-run.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-safety-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  '--dataset',
  'fashion-mnist-mini',
  '--limit-train',
  '64',
  '--limit-test',
  '32',
  '--width',
  '0.125',
  '--batch-size',
  '16',
];

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, [CLI, ...args, '--backend', backend], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Done>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const cli = (args: string[], opts: { uid?: number } = {}): Done =>
  runCli([...args, '--backend', backend], opts);

/** Resolves when `path` exists (polled; fails when `done` settles first). */
async function waitFor(path: string, done: Promise<Done>): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  while (!existsSync(path)) {
    if (finished) throw new Error(`the process ended before ${path} appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('run directory safety (real processes)', () => {
  it('a second writer exits 2 naming the holder; a resume during the run too; Ctrl-C saves and says how to resume', async () => {
    const dir = join(root, 'busy');
    const a = start(['train', ...TINY, '--epochs', '1000', '--out', dir]);
    await waitFor(runFile(dir, 'last'), a.done); // at least one epoch saved, still training
    const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; command: string };
    assert.equal(holder.pid, a.child.pid);
    assert.match(holder.command, /^stcsnn train .*--out/);
    const b = cli(['train', ...TINY, '--epochs', '1', '--out', dir, '--force']);
    assert.equal(b.code, 2, b.stderr);
    assert.match(
      b.stderr,
      new RegExp(`is being written by process ${a.child.pid} on ${hostname()} \\(stcsnn train .*since `),
    );
    const c = cli(['train', '--resume', dir]);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, new RegExp(`process ${a.child.pid}`));
    a.child.kill('SIGINT');
    const r = await a.done;
    assert.equal(r.code, 130, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: interrupted'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      new RegExp(
        `saved the checkpoint of epoch \\d+ in ${dir}; continue with: stcsnn train --resume ${dir}$`,
      ),
    );
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the lock is released');
    // the config given to --force was refused: the directory is still the first run's
    assert.equal(
      (JSON.parse(readFileSync(runFile(dir, 'config'), 'utf8')) as { epochs: number }).epochs,
      1000,
    );
  });

  it('a stale lock left by a SIGKILLed writer is taken over with a notice', async () => {
    const dir = join(root, 'stale');
    const a = start(['train', ...TINY, '--epochs', '1000', '--out', dir]);
    await waitFor(runFile(dir, 'last'), a.done);
    a.child.kill('SIGKILL');
    await a.done;
    assert.equal(existsSync(join(dir, LOCK_FILE)), true, 'SIGKILL leaves the lock');
    const r = cli(['train', '--resume', dir, '--epochs', '2', '--time-budget', '0.001']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`taking over the stale lock .* of process ${a.child.pid} on .*no longer running`),
    );
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('an edited config.json is refused naming the changed fields; epochs extend a finished run', () => {
    const dir = join(root, 'edit');
    assert.equal(cli(['train', ...TINY, '--epochs', '1', '--out', dir]).code, 0);
    const again = cli(['train', '--resume', dir]);
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /is finished \(1 epochs, result\.json\); to train it further, extend it: --resume .* --epochs N with N > 1/,
    );
    const cfgPath = runFile(dir, 'config');
    const original = readFileSync(cfgPath, 'utf8');
    const edited = JSON.parse(original) as { stc: { T: number }; mode: string };
    edited.stc.T = 4;
    edited.mode = 'ann';
    writeFileSync(cfgPath, JSON.stringify(edited));
    const r = cli(['train', '--resume', dir, '--epochs', '2']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /differs from the configuration .* trained with: mode "stc" -> "ann", stc\.T 8 -> 4;/,
    );
    writeFileSync(cfgPath, original);
    const short = cli(['train', '--resume', dir, '--epochs', '1']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--epochs 1: .* has trained 1 epochs already/);
    const ext = cli(['train', '--resume', dir, '--epochs', '3', '--json']);
    assert.equal(ext.code, 0, ext.stderr);
    assert.equal((JSON.parse(ext.stdout) as { epochs: number }).epochs, 3);
    const log = readFileSync(runFile(dir, 'log'), 'utf8').trim().split('\n');
    assert.deepEqual(
      log.map((l) => (JSON.parse(l) as { epoch: number }).epoch),
      [0, 1, 2],
    );
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { epochs: number; config_hash: string };
    assert.equal(cfg.epochs, 3);
    assert.match(cfg.config_hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('directories that cannot be written are refused before training, and nothing is left behind', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    for (const out of ['/proc/stcsnn-x', join(file, 'run')]) {
      const r = cli(['train', ...TINY, '--epochs', '1', '--out', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^stcsnn: error: cannot create run directory .* is not writable: .*\((ENOENT|ENOTDIR|EACCES|EROFS)\)\n$/,
      );
    }
    // a run directory that cannot be written (read-only for a user that is not root)
    const ro = join(root, 'ro');
    assert.equal(cli(['train', ...TINY, '--epochs', '1', '--out', ro]).code, 0);
    chmodSync(ro, 0o555);
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    const r = cli(['train', '--resume', ro, '--epochs', '2'], { uid });
    chmodSync(ro, 0o755);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^stcsnn: error: cannot write in .*ro: permission denied \(EACCES\)\n$/);
    assert.equal(JSON.parse(readFileSync(runFile(ro, 'result'), 'utf8')).epochs, 1, 'nothing trained');
    // export and report into a folder that cannot be written: one line, exit 2
    const ex = cli(['export', '--checkpoint', ro, '--out', join(file, 'm.onnx')]);
    assert.equal(ex.code, 2, ex.stderr);
    assert.match(ex.stderr, /^stcsnn: error: --out .*m\.onnx is not writable .*\(ENOTDIR\)\n$/);
    chmodSync(ro, 0o555);
    const rep = cli(['report', ro], { uid });
    chmodSync(ro, 0o755);
    assert.equal(rep.code, 2, rep.stderr);
    assert.match(
      rep.stderr,
      /^stcsnn: error: report folder .* is not writable: permission denied \(EACCES\)\n$/,
    );
  });

  it('a run that fails removes the directory it created, never one that existed', () => {
    const made = join(root, 'made', 'deep');
    // an impossible configuration for the data: fails after the directory is prepared
    const r = cli([
      'train',
      ...TINY,
      '--epochs',
      '1',
      '--out',
      made,
      '--data-dir',
      join(root, 'nope'),
      '--dataset',
      'fashion-mnist',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(existsSync(join(root, 'made')), false, 'created directories removed');
    const existing = join(root, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'notes.txt'), 'mine');
    const r2 = cli([
      'train',
      ...TINY,
      '--epochs',
      '1',
      '--out',
      existing,
      '--force',
      '--data-dir',
      join(root, 'nope'),
      '--dataset',
      'fashion-mnist',
    ]);
    assert.equal(r2.code, 2, r2.stderr);
    assert.deepEqual(readdirSync(existing), ['notes.txt']);
  });
});

describe('lock and directories (in process)', () => {
  it('locks are exclusive across holders, re-entrant within the process, released by the last release', () => {
    const dir = join(root, 'lk');
    mkdirSync(dir);
    const a = acquireLock(dir, { command: 'test' });
    const b = acquireLock(dir);
    b.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), true);
    a.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: 1, host: 'elsewhere', command: 'stcsnn train', since: 'x' }),
    );
    assert.throws(
      () => acquireLock(dir),
      (e: unknown) => e instanceof LockError && /on elsewhere .*remove/.test(e.message),
    );
    writeFileSync(join(dir, LOCK_FILE), '{"pid":');
    assert.throws(() => acquireLock(dir), /not a lock this program wrote/);
  });

  it('makeDirs creates component by component and refuses a file on the way', () => {
    const d = join(root, 'm1', 'm2', 'm3');
    assert.deepEqual(makeDirs(d), [join(root, 'm1'), join(root, 'm1', 'm2'), d]);
    assert.deepEqual(makeDirs(d), []);
    writeFileSync(join(root, 'm1', 'f'), '');
    assert.throws(() => makeDirs(join(root, 'm1', 'f', 'g')), { code: 'ENOTDIR' });
  });
});
