/**
 * One rank of the two-process tests (process-group.native.test.ts): joins the group from the
 * torchrun variables, then, as `FIXTURE_MODE` says, all-reduces `[rank + 1, 10 * (rank + 1)]`
 * and prints the result (`sum`), or (`die`) rank 1 exits right after joining while rank 0
 * all-reduces and prints its one-line error.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../engine/backend.js';
import { initProcessGroup, processGroupFromEnv } from './process-group.js';

const opts = processGroupFromEnv();
if (!opts) throw new Error('WORLD_SIZE is not set');
await initBackend('libtorch', { threads: 1 });
const pg = await initProcessGroup(
  { ...opts, timeoutMs: Number(process.env.FIXTURE_TIMEOUT_MS ?? 20000) },
  'libtorch',
);
const mode = process.env.FIXTURE_MODE ?? 'sum';
if (mode === 'die' && pg.rank === 1) process.exit(3);
const t = tf.add(tf.tensor1d([pg.rank + 1, 10 * (pg.rank + 1)]), 0);
try {
  await pg.allReduce([t], mode === 'avg' ? 'avg' : 'sum');
  await pg.barrier();
  const hashes = await pg.exchange('hash', `h${pg.rank}`);
  process.stdout.write(JSON.stringify({ rank: pg.rank, values: [...t.dataSync()], hashes }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ rank: pg.rank, error: (e as Error).message }) + '\n');
}
pg.destroy();
