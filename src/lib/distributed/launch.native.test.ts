/**
 * `stcsnn launch` and signals (issue 24, cases 7 to 9), with real ranks training on 127.0.0.1: a
 * rank killed by SIGKILL is reported as such (exit 137, one JSON object with `--json`); SIGINT or
 * SIGTERM to the launcher reaches the ranks, rank 0 saves and prints the command that continues
 * the data-parallel run, and the launcher exits only after every rank has ended, the lock
 * released; a launcher killed by SIGKILL leaves no rank training under pid 1. Nothing waits on a
 * clock: each step waits for a file or a process the previous one made.
 *
 * The two-process tests run on the libtorch pass where c10d is built, and say why otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAUNCHED_ENV } from '../../app/cli/launch.js';
import { LOCK_FILE, runFile } from '../../app/rundir/layout.js';
import { distUnavailableReason } from './process-group.js';
import { CLI, type Ran } from './cli-process.test-support.js';

const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const skip =
  backend !== 'libtorch'
    ? 'two-process tests run on the libtorch pass'
    : await distUnavailableReason('libtorch');

const root = mkdtempSync(join(tmpdir(), 'stcsnn-launch-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A data-parallel run that trains until it is stopped. */
const ENDLESS = [
  ...['train', '--backend', 'libtorch', '--threads', '1', '--limit-train', '64', '--limit-test', '32'],
  ...['--width', '0.125', '--batch-size', '16', '--T', '2', '--epochs', '100000'],
];

/** `stcsnn launch --nproc 2 -- ARGS`, running. */
function launch(args: string[]): { pid: number; done: Promise<Ran & { signal: NodeJS.Signals | null }> } {
  const p = spawn(process.execPath, [CLI, 'launch', '--nproc', '2', '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ran & { signal: NodeJS.Signals | null }>((res) =>
    p.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { pid: p.pid!, done };
}

/** Resolves when `path` exists (polled; fails when `done` settles first). */
async function waitFor(path: string, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  while (!existsSync(path)) {
    if (finished) throw new Error(`the launcher ended before ${path} appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The ranks the launcher `pid` started: rank number -> pid (from /proc). */
function ranksOf(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const env = readFileSync(`/proc/${n}/environ`, 'utf8').split('\0');
      const rank = env.find((e) => e.startsWith('RANK='));
      if (rank) out.set(Number(rank.slice(5)), Number(n));
    } catch {
      // a process that ended meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const stcsnnErrors = (s: string) => s.split('\n').filter((l) => /^stcsnn: (internal )?error/.test(l));

test(
  'a rank killed by SIGKILL: "rank 1 of 2 was killed by SIGKILL", exit 137, exactly one JSON object',
  { skip, timeout: 300_000 },
  async () => {
    const dir = join(root, 'killed');
    const l = launch([...ENDLESS, '--out', dir, '--json']);
    await waitFor(runFile(dir, 'last'), l.done);
    const ranks = ranksOf(l.pid);
    assert.equal(ranks.size, 2);
    process.kill(ranks.get(1)!, 'SIGKILL');
    const r = await l.done;
    assert.equal(r.code, 137, r.stderr);
    const objects = r.stdout.trim().split('\n');
    assert.equal(objects.length, 1, r.stdout);
    assert.deepEqual(JSON.parse(objects[0]), {
      error: { message: 'rank 1 of 2 was killed by SIGKILL; the other ranks were stopped', code: 'killed' },
    });
    assert.equal(
      stcsnnErrors(r.stderr).pop(),
      'stcsnn: error: rank 1 of 2 was killed by SIGKILL; the other ranks were stopped',
    );
    assert.doesNotMatch(r.stderr, /internal error/);
    for (const p of ranks.values()) assert.ok(!alive(p), 'no rank outlives the launcher');
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the lock is released');
  },
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(
    `${signal} to the launcher: the ranks stop, rank 0 saves and names the launch command that continues the run`,
    { skip, timeout: 300_000 },
    async () => {
      const dir = join(root, `stop-${signal}`);
      const l = launch([...ENDLESS, '--out', dir]);
      await waitFor(runFile(dir, 'last'), l.done);
      const ranks = ranksOf(l.pid);
      assert.equal(ranks.size, 2);
      process.kill(l.pid, signal);
      const r = await l.done;
      assert.equal(r.code, signal === 'SIGINT' ? 130 : 143, r.stderr);
      for (const p of ranks.values()) assert.ok(!alive(p), 'the launcher ends after its ranks');
      const what = signal === 'SIGINT' ? 'interrupted' : 'stopped \\(SIGTERM\\)';
      const lines = r.stderr.split('\n').filter((s) => s.startsWith('stcsnn: '));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^stcsnn: ${what}; saved the checkpoint of epoch \\d+ in ${dir}; continue with: stcsnn launch --nproc 2 -- train --resume ${dir}$`,
        ),
      );
      assert.doesNotMatch(r.stderr, /\[rank 1\] stcsnn: error/);
      assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the lock is released');
    },
  );
}

test(
  'a launcher killed by SIGKILL: its ranks notice, stop and release the lock',
  { skip, timeout: 300_000 },
  async () => {
    const dir = join(root, 'orphans');
    const l = launch([...ENDLESS, '--out', dir]);
    await waitFor(runFile(dir, 'last'), l.done);
    const ranks = ranksOf(l.pid);
    assert.equal(ranks.size, 2);
    process.kill(l.pid, 'SIGKILL');
    await l.done;
    // bounded by the test's timeout: the ranks see the launcher's IPC channel close
    while ([...ranks.values()].some(alive)) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the lock is released: --resume is not refused');
    assert.ok(existsSync(runFile(dir, 'last')));
  },
);

/** One training epoch of the smallest network: a run that ends (with result.json) unless stopped. */
const SHORT = [
  ...['train', '--backend', 'libtorch', '--threads', '1', '--limit-train', '64', '--limit-test', '32'],
  ...['--width', '0.125', '--batch-size', '16', '--T', '2', '--epochs', '1'],
];

/** Resolves when the launcher `pid` has started `n` ranks (they are starting: nothing is loaded yet). */
async function started(pid: number, n: number, done: Promise<unknown>): Promise<Map<number, number>> {
  let finished = false;
  void done.then(() => (finished = true));
  for (;;) {
    const ranks = ranksOf(pid);
    if (ranks.size === n) return ranks;
    if (finished) throw new Error(`the launcher ended before its ${n} ranks were started`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `p`'s value, or undefined when it takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const ac = new AbortController();
  const late = sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
  try {
    return await Promise.race([p, late]);
  } finally {
    ac.abort();
  }
}

/** Resolves when none of `pids` is alive, or after `ms` (then kills them: no test leaves a process behind). */
async function gone(pids: Iterable<number>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while ([...pids].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = [...pids].filter(alive);
  for (const p of left) process.kill(p, 'SIGKILL');
  return left.length === 0;
}

test(
  'SIGTERM to the launcher while its ranks start: every rank ends, launch exits 143 (issue 33, case 3)',
  { skip, timeout: 300_000 },
  async () => {
    const dir = join(root, 'term-at-start');
    // a long --dist-timeout: a rank that waited in the rendezvous for rank 0 would outlast the bound
    const l = launch([...SHORT, '--dist-timeout', '600', '--out', dir]);
    const ranks = await started(l.pid, 2, l.done);
    process.kill(l.pid, 'SIGTERM');
    const r = await within(l.done, 120_000);
    const stopped = await gone(ranks.values(), 1000);
    if (r === undefined) process.kill(l.pid, 'SIGKILL');
    assert.ok(r !== undefined, 'the launcher ended within 120 s');
    assert.equal(r.code, 143, r.stderr);
    assert.ok(stopped, 'no rank outlives the launcher');
    assert.ok(!existsSync(runFile(dir, 'result')));
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the lock is released');
  },
);

test(
  'a launcher killed by SIGKILL while its ranks start: they stop within seconds and write no result (issue 33, case 4)',
  { skip, timeout: 300_000 },
  async () => {
    const dir = join(root, 'kill-at-start');
    const l = launch([...SHORT, '--out', dir]);
    const ranks = await started(l.pid, 2, l.done);
    process.kill(l.pid, 'SIGKILL');
    await l.done;
    // an epoch here takes longer than this bound; the ranks notice at their first instruction
    assert.ok(await gone(ranks.values(), 60_000), 'the ranks stop without their launcher');
    assert.ok(!existsSync(runFile(dir, 'result')), 'no result written');
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'no lock left');
  },
);

test(
  'SIGTERM to a data-parallel rank still in the rendezvous ends it at once (issue 33, case 3)',
  { skip, timeout: 300_000 },
  async () => {
    // "rank 0's store": a server that accepts and never answers, so rank 1 waits in the rendezvous
    const sockets = new Set<Socket>();
    const server = createServer((s) => sockets.add(s));
    const connected = new Promise<void>((res) => server.once('connection', () => res()));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    const p = spawn(
      process.execPath,
      [CLI, ...ENDLESS, '--dist-timeout', '600', '--out', join(root, 'rdv')],
      {
        env: {
          ...process.env,
          ...{ WORLD_SIZE: '2', RANK: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
          [LAUNCHED_ENV]: '1',
        },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      },
    );
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<[number | null, NodeJS.Signals | null]>((res) =>
      p.on('close', (code, signal) => res([code, signal])),
    );
    try {
      const first = await Promise.race([connected.then(() => 'connected'), done.then(() => 'ended')]);
      assert.equal(first, 'connected', stderr);
      p.kill('SIGTERM');
      const r = await within(done, 60_000);
      assert.ok(r !== undefined, 'rank 1 ended within 60 s (not after --dist-timeout 600)');
      assert.ok(r[1] === 'SIGTERM' || r[0] === 143, `ended with ${r[0]} ${r[1]}: ${stderr}`);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      server.close();
    }
  },
);
