/**
 * How `stcsnn launch` reports a failed rank (issue 24, case 7): a rank killed by a signal is
 * named with the signal and ends the launch with 128 + its number (`killed` in `--json`), not as
 * an internal error "its error is above" (it printed nothing). The end-to-end tests with real
 * ranks are in `src/lib/distributed/launch.native.test.ts`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI } from '../../lib/distributed/testing.js';
import { isUserError, KilledError, signalExitCode, UsageError } from './errors.js';
import { LAUNCHED_ENV, rankFailure } from './launch.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';

test('a rank killed by a signal: named with the signal, exit 128 + its number', () => {
  const e = rankFailure({ rank: 1, code: null, signal: 'SIGKILL' }, 2);
  assert.ok(e instanceof KilledError);
  assert.equal(e.message, 'rank 1 of 2 was killed by SIGKILL; the other ranks were stopped');
  assert.equal(e.exitCode, 137);
  assert.equal(isUserError(e), false);
  assert.equal(signalExitCode('SIGTERM'), 143);
  assert.equal(signalExitCode('SIGINT'), 130);
});

test('a rank that failed with an exit code: bad input (2) or not', () => {
  const bad: Error = rankFailure({ rank: 0, code: 2, signal: null }, 2);
  assert.ok(bad instanceof UsageError);
  assert.equal(bad.message, 'rank 0 of 2 failed (exit 2; its error is above); the other ranks were stopped');
  const bug = rankFailure({ rank: 1, code: 1, signal: null }, 1);
  assert.equal(bug.message, 'rank 1 of 1 failed (exit 1; its error is above)');
  assert.equal(bug instanceof KilledError || isUserError(bug), false, 'exit 1: a bug');
});

/** What a process printed on stderr and how it ended. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Resolves when `p` has exited and its stderr (when piped) has closed. Not on 'close': a child
 * whose IPC channel its parent disconnected at once never emits it (Node 20).
 */
function ended(p: ChildProcess): Promise<Ended> {
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = p.stderr ? new Promise((res) => p.stderr?.on('close', res)) : Promise.resolve();
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    p.on('exit', (code, signal) => res([code, signal])),
  );
  return Promise.all([exited, closed]).then(([[code, signal]]) => ({ code, signal, stderr }));
}

const root = mkdtempSync(join(tmpdir(), 'stcsnn-launch-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

test(
  'a rank whose launcher died while it was starting exits 143 before any work and writes nothing (issue 33, case 4)',
  { timeout: 300_000 },
  async () => {
    const dir = join(root, 'orphan');
    // a rank as `launch` starts it: the variable and an IPC channel to its parent
    const p = spawn(
      process.execPath,
      [
        CLI,
        'train',
        '--backend',
        backend,
        '--threads',
        '1',
        '--limit-train',
        '16',
        '--limit-test',
        '16',
        '--width',
        '0.125',
        '--T',
        '2',
        '--epochs',
        '1',
        '--out',
        dir,
      ],
      { env: { ...process.env, [LAUNCHED_ENV]: '1' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    // the launcher is gone (as after SIGKILL: its end of the channel closes) before the rank has
    // evaluated its first module; Node reads the channel's end while the modules load
    p.disconnect();
    const r = await ended(p);
    assert.equal(r.code, 143, r.stderr);
    assert.equal(r.stderr, 'stcsnn: stopped: its launcher (stcsnn launch) is gone\n');
    assert.ok(!existsSync(dir), 'nothing written: no run directory');
  },
);
