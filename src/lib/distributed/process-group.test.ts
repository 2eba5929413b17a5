import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProcessGroupOptions, initProcessGroup, processGroupFromEnv } from './process-group.js';

test('torchrun environment variables', () => {
  assert.equal(processGroupFromEnv({}), undefined);
  const o = processGroupFromEnv({
    WORLD_SIZE: '4',
    RANK: '3',
    LOCAL_RANK: '1',
    MASTER_ADDR: 'node0',
    MASTER_PORT: '1234',
  });
  assert.deepEqual(
    { ...o },
    {
      worldSize: 4,
      rank: 3,
      localRank: 1,
      masterAddr: 'node0',
      masterPort: 1234,
      timeoutMs: 300000,
      backend: 'gloo',
    },
  );
  assert.throws(() => processGroupFromEnv({ WORLD_SIZE: '2' }), /RANK is not/);
  assert.throws(
    () => processGroupFromEnv({ WORLD_SIZE: 'two', RANK: '0' }),
    /WORLD_SIZE must be a non-negative integer/,
  );
});

test('rank >= world size and bad ports are one-line errors', () => {
  assert.throws(
    () => checkProcessGroupOptions({ worldSize: 2, rank: 2 }),
    /rank must be an integer in \[0, 2\)/,
  );
  assert.throws(() => checkProcessGroupOptions({ worldSize: 2, rank: 0, masterPort: 70000 }), /master port/);
});

test('world size > 1 without the libtorch backend is refused with one line', async () => {
  await assert.rejects(
    initProcessGroup({ worldSize: 2, rank: 0 }, 'wasm'),
    (e: Error) => /needs the libtorch backend/.test(e.message) && !e.message.includes('\n'),
  );
});

test('world size 1 is local', async () => {
  const pg = await initProcessGroup({ worldSize: 1, rank: 0 }, 'wasm');
  assert.deepEqual(await pg.exchange('k', 'v'), ['v']);
});
