/** `sweep --print-config` and `reproduce --print-config`: dry modes that train and write nothing. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rmDir, tmpDir } from '../../lib/data/readers/fixture-files.test-support.js';
import { runCli } from './cli-run.test-support.js';

const run = (cwd: string, ...args: string[]) => runCli(args, { cwd, timeout: 120_000 });

test('sweep --print-config: the grid, the directory and the shared configuration; nothing written', () => {
  const dir = tmpDir('sweep-print');
  try {
    const r = run(
      dir,
      'sweep',
      '--theta0',
      '0.2,0.8',
      '--T',
      '4',
      '--epochs',
      '2',
      '--out',
      's',
      '--print-config',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      grid: { theta0: number[]; T: number[] };
      points: number;
      dir: string;
      config: { epochs: number };
      sources: Record<string, string>;
    };
    assert.deepEqual(out.grid, { theta0: [0.2, 0.8], T: [4] });
    assert.equal(out.points, 2);
    assert.equal(out.dir, join(dir, 's'));
    assert.equal(out.config.epochs, 2);
    assert.equal(out.sources.epochs, 'flag');
    // the axes are the points' own, not shared values
    assert.equal(out.sources['stc.T'], undefined);
    assert.equal(out.sources['stc.theta0'], undefined);
    const text = run(dir, 'sweep', '--T', '2,4', '--print-config');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /grid: theta0 in \{0\.8\} x T in \{2, 4\}: 2 points/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmDir(dir);
  }
});

test('reproduce --print-config: the protocol after the flags, the output directory, the data; nothing written', () => {
  const dir = tmpDir('reproduce-print');
  try {
    const r = run(
      dir,
      'reproduce',
      'table2-cifar10-vgg16',
      '--scale',
      'paper',
      '--epochs',
      '3',
      '--seeds',
      '2',
      '--gradient',
      'clipped',
      '--data-dir',
      'nowhere',
      '--print-config',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      experiment: string;
      scale: string;
      protocol: { epochs: number; seeds: number; gradients: string[] };
      runs: number;
      out: string;
      data: string;
    };
    assert.equal(out.experiment, 'table2-cifar10-vgg16');
    assert.equal(out.scale, 'paper');
    assert.deepEqual([out.protocol.epochs, out.protocol.seeds, out.protocol.gradients], [3, 2, ['clipped']]);
    assert.equal(out.runs, 4); // 2 seeds, STC and ANN
    assert.equal(
      out.out,
      join(dir, 'reproduce', 'table2-cifar10-vgg16-paper-clipped-e3-s2', 'table2-cifar10-vgg16'),
    );
    assert.match(out.data, /^not found: .*nowhere does not exist/);
    assert.ok(!existsSync(join(dir, 'reproduce')));
    const both = run(dir, 'reproduce', 'fig5-T-fmnist', '--from-json', 'r.json', '--print-config');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /drop --print-config/);
  } finally {
    rmDir(dir);
  }
});

test('train --print-config checks the shared flags too: a bad --threads is one line, exit 2', () => {
  const dir = tmpDir('stcsnn-print-threads-');
  try {
    for (const threads of ['0', ' 1', 'x']) {
      const r = run(dir, 'train', '--threads', threads, '--print-config');
      assert.equal(r.code, 2, `--threads '${threads}': ${r.stdout}`);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('stcsnn: error:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0], /--threads/);
    }
    assert.equal(run(dir, 'train', '--threads', '1', '--print-config').code, 0);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmDir(dir);
  }
});
