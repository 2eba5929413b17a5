/**
 * The one backend start-up loop: the first candidate that starts wins, and those before it say
 * why they did not (a failing check, a backend that fails to initialise); a ConfigError from a
 * check ends the loop at once; none starting is a BackendStartError naming each.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ConfigError } from '../core/config.js';
import { BackendStartError, startFirstBackend } from './start.js';

before(() => {
  tf.enableProdMode(); // no console warning for the backend that fails to initialise
  tf.registerBackend('stcsnn-test-broken', () => {
    throw new Error('no device');
  });
});

test('the first candidate that starts wins; those before it say why not', async () => {
  const started = await startFirstBackend([
    {
      name: 'stcsnn-test-absent',
      check: () => {
        throw new Error('not loaded');
      },
    },
    { name: 'stcsnn-test-broken' },
    { name: 'cpu' },
  ]);
  assert.equal(started.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(
    started.skipped.map((f) => [f.name, f.stage, f.reason]),
    [
      ['stcsnn-test-absent', 'check', 'not loaded'],
      ['stcsnn-test-broken', 'start', 'failed to initialise'],
    ],
  );
});

test('none starting is one error that names every candidate', async () => {
  await assert.rejects(
    startFirstBackend([{ name: 'stcsnn-test-broken' }, { name: 'stcsnn-test-unregistered' }]),
    (e: unknown) =>
      e instanceof BackendStartError &&
      e.failures.length === 2 &&
      /^no backend could start \(stcsnn-test-broken: failed to initialise; stcsnn-test-unregistered: .+\)$/.test(
        e.message,
      ),
  );
});

test('a ConfigError from a check is the error: the later candidates are not tried', async () => {
  let tried = false;
  await assert.rejects(
    startFirstBackend([
      {
        name: 'cpu',
        check: () => {
          throw new ConfigError('a wrong request');
        },
      },
      {
        name: 'cpu',
        check: () => {
          tried = true;
        },
      },
    ]),
    (e: unknown) => e instanceof ConfigError && e.message === 'a wrong request',
  );
  assert.equal(tried, false);
});
