/**
 * How `stcsnn launch` reports a failed rank (issue 24, case 7): a rank killed by a signal is
 * named with the signal and ends the launch with 128 + its number (`killed` in `--json`), not as
 * an internal error "its error is above" (it printed nothing). The end-to-end tests with real
 * ranks are in `src/lib/distributed/launch.native.test.ts`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUserError, KilledError, signalExitCode, UsageError } from './errors.js';
import { rankFailure } from './launch.js';

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
