/**
 * Two processes on loopback (c10d over Gloo): all-reduce, barrier, exchange, and a rank that dies.
 * Skipped, saying why, where the libtorch addon lacks c10d.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../app/cli/launch.js';
import { distUnavailableReason } from './process-group.js';

const fixture = fileURLToPath(new URL('./rank-process.test-support.js', import.meta.url));
const skip =
  (process.env.STCSNN_TEST_BACKEND ?? 'wasm') !== 'libtorch'
    ? 'two-process tests run on the libtorch pass'
    : await distUnavailableReason('libtorch');

async function ranks(
  mode: string,
  n = 2,
): Promise<{ rank: number; values?: number[]; hashes?: string[]; error?: string }[]> {
  const port = await freePort();
  const runs = Array.from({ length: n }, (_, rank) => {
    const p = spawn(process.execPath, [fixture], {
      env: {
        ...process.env,
        WORLD_SIZE: String(n),
        RANK: String(rank),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        FIXTURE_MODE: mode,
        FIXTURE_TIMEOUT_MS: '15000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise<string>((resolve) => p.on('close', () => resolve(out)));
  });
  const outs = await Promise.all(runs);
  return outs.filter((o) => o.trim()).map((o) => JSON.parse(o.trim().split('\n').pop() as string));
}

test('two ranks: all-reduce sums, barrier, exchange', { skip, timeout: 120000 }, async () => {
  const r = await ranks('sum');
  assert.equal(r.length, 2);
  for (const x of r) {
    assert.deepEqual(x.values, [3, 30]);
    assert.deepEqual(x.hashes, ['h0', 'h1']);
  }
});

test('two ranks: average', { skip, timeout: 120000 }, async () => {
  const r = await ranks('avg');
  for (const x of r) assert.deepEqual(x.values, [1.5, 15]);
});

test('a rank that dies makes the other fail with one line, not hang', { skip, timeout: 120000 }, async () => {
  const r = await ranks('die');
  const r0 = r.find((x) => x.rank === 0);
  assert.ok(r0?.error, 'rank 0 reports an error');
  assert.ok(!r0.error.includes('\n'));
});
