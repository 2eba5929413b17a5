/**
 * How `stcsnn launch` reports a failed rank (issue 24, case 7): a rank killed by a signal is
 * named with the signal and ends the launch with 128 + its number (`killed` in `--json`), not as
 * an internal error "its error is above" (it printed nothing). The end-to-end tests with real
 * ranks are in `src/lib/distributed/launch.native.test.ts`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI } from '../../lib/distributed/cli-process.test-support.js';
import { isUserError, KilledError, signalExitCode, UsageError } from './errors.js';
import { LAUNCHED_ENV, nprocFor, RANK_MEMORY_FLOOR, rankFailure, runRanks } from './launch.js';

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

test('--nproc is held to the cores and the memory: refused with one line, not capped (issue 33, case 3)', () => {
  const machine = { cores: 2, freeBytes: 20 * 2 ** 30 };
  assert.equal(nprocFor('2', false, machine), 2);
  assert.throws(
    () => nprocFor('1000', false, machine),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        "--nproc 1000 is more than the 2 cores of this machine (the rank count is the run's world size, so launch does not lower it); use --nproc 2 or fewer, or add --oversubscribe to start 1000 ranks anyway",
  );
  assert.equal(nprocFor('4', true, machine), 4, '--oversubscribe: more ranks than cores');
  // memory: RANK_MEMORY_FLOOR a rank, with or without --oversubscribe
  assert.equal(RANK_MEMORY_FLOOR, 256 * 2 ** 20);
  assert.throws(
    () => nprocFor('1000', true, machine),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        '--nproc 1000 needs at least 250.0 GiB of memory (256 MiB a rank before its network), and 20.0 GiB is free; use --nproc 80 or fewer',
  );
  assert.equal(nprocFor('80', true, machine), 80);
  assert.throws(() => nprocFor('1', false, { cores: 2, freeBytes: 2 ** 27 }), /free some memory first$/);
  assert.throws(() => nprocFor('0', false, machine), /--nproc must be an integer in 1\.\.1024/);
});

test('stcsnn launch --nproc cores + 1: one line, exit 2, no rank started', { timeout: 120_000 }, async () => {
  const n = availableParallelism() + 1;
  const p = spawn(process.execPath, [CLI, 'launch', '--nproc', String(n), '--', 'train', '--epochs', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const r = await ended(p);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(stdout, '');
  assert.equal(
    r.stderr,
    `stcsnn: error: --nproc ${n} is more than the ${n - 1} cores of this machine (the rank count is the run's world size, so launch does not lower it); use --nproc ${n - 1} or fewer, or add --oversubscribe to start ${n} ranks anyway\n`,
  );
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test(
  'a signal while the ranks start: no further rank is started, every started one stops (issue 33, case 3)',
  { timeout: 120_000 },
  async () => {
    // ranks that would run until they are stopped
    const script = join(root, 'idle-rank.mjs');
    writeFileSync(script, 'setInterval(() => {}, 1000);\n');
    const pids: number[] = [];
    const outcome = await runRanks({
      n: 6,
      script,
      args: [],
      env: process.env,
      onStarted: (r, pid) => {
        if (pid !== undefined) pids.push(pid);
        // SIGTERM to the launcher right after its first rank has started
        if (r === 0) process.kill(process.pid, 'SIGTERM');
      },
    });
    assert.equal(outcome.interrupted, 'SIGTERM');
    assert.equal(outcome.failed, undefined);
    assert.ok(outcome.started < 6, `started ${outcome.started} of 6 ranks after the signal`);
    assert.equal(pids.length, outcome.started);
    for (const pid of pids) assert.ok(!alive(pid), `rank pid ${pid} is left running`);
  },
);

test('a rank that cannot be started: named with the reason, the others stopped', async () => {
  const e = rankFailure({ rank: 3, code: null, signal: null, startError: 'spawn EAGAIN' }, 8);
  assert.equal(e.message, 'rank 3 of 8 could not be started (spawn EAGAIN); the other ranks were stopped');
  assert.ok(!(e instanceof KilledError) && !isUserError(e), 'exit 1: the system, not the input');
  // a rank whose spawn throws (here: a NUL byte in its arguments) ends the launch, nothing hangs
  const outcome = await runRanks({ n: 2, script: 'a\0b', args: [], env: process.env });
  assert.equal(outcome.failed?.rank, 0);
  assert.match(outcome.failed?.startError ?? '', /null bytes/);
  assert.equal(outcome.started, 0);
});
