import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ProcessGroup } from './process-group.js';
import { gatherRuns, runsOfRank } from './runs.js';

test('runsOfRank: every run goes to exactly one rank, k mod W', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 9 }), (count, w) => {
      const seen = Array.from({ length: w }, (_, r) => runsOfRank(count, r, w)).flat();
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        Array.from({ length: count }, (_, k) => k),
      );
      for (let r = 0; r < w; r++) for (const k of runsOfRank(count, r, w)) assert.equal(k % w, r);
    }),
  );
});

/** A group whose exchange answers with the given values of the other ranks. */
function fakeGroup(rank: number, others: (string | Error)[], timeouts = 0): ProcessGroup {
  let left = timeouts;
  return {
    rank,
    worldSize: others.length + 1,
    allReduce: async () => {},
    allReduceSync: () => {},
    barrier: async () => {},
    exchange: async (_k, v) => {
      if (left-- > 0) {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('timed out');
      }
      const all = [...others];
      all.splice(rank, 0, v);
      for (const a of all) if (a instanceof Error) throw a;
      return all as string[];
    },
    destroy: () => {},
  };
}

test('gatherRuns merges every rank’s results by index, re-asking after a time-out', async () => {
  let waits = 0;
  const pg = fakeGroup(0, [JSON.stringify({ ok: true, runs: [[1, 'b']] })], 2);
  const all = await gatherRuns(pg, 'k', new Map([[0, 'a']]), { timeoutMs: 1, onWait: () => waits++ });
  assert.deepEqual([...all.entries()].sort(), [
    [0, 'a'],
    [1, 'b'],
  ]);
  assert.equal(waits, 1, 'one notice however long the wait');
});

test('gatherRuns: a failed rank stops the others with its error; a fast failure is not retried', async () => {
  const failed = fakeGroup(0, [JSON.stringify({ ok: false, error: 'out of memory' })]);
  await assert.rejects(
    gatherRuns(failed, 'k', new Map(), { timeoutMs: 1000 }),
    /rank 1 of 2 failed: out of memory/,
  );
  const mine = fakeGroup(1, [JSON.stringify({ ok: true, runs: [] })]);
  await assert.rejects(gatherRuns(mine, 'k', new Error('disk full'), { timeoutMs: 1000 }), /disk full/);
  const gone = fakeGroup(0, [new Error('connection reset')]);
  await assert.rejects(gatherRuns(gone, 'k', new Map(), { timeoutMs: 10_000 }), /connection reset/);
});
