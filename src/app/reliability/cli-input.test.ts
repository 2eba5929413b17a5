/**
 * Input a new user gives by mistake (issue 24): an empty path (`--out ''`) is a usage error for
 * every command and nothing is written; a directory that cannot be created (a name too long)
 * leaves none of the parents it made; `--threads` above the machine's cores is capped with a
 * warning; commander's own errors carry the `stcsnn: error:` prefix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadsFor } from '../cli/common.js';
import { makeDirs } from '../../lib/util/fs.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const backend = process.env.STCSNN_TEST_BACKEND ?? 'wasm';
const root = mkdtempSync(join(tmpdir(), 'stcsnn-input-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** `stcsnn ARGS` run in the folder `cwd`. */
function cli(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TINY = ['--limit-train', '16', '--limit-test', '16', '--width', '0.125', '--T', '2', '--epochs', '1'];

describe('an empty path is a usage error for every command', () => {
  const cases: [string, string[], string][] = [
    ['train --out', ['train', ...TINY, '--out', ''], '--out'],
    ['train --resume', ['train', '--resume', ''], '--resume'],
    ['train --data-dir', ['train', ...TINY, '--data-dir', ''], '--data-dir'],
    ['sweep --out', ['sweep', '--T', '2', '--theta0', '1', ...TINY.slice(0, 6), '--out', ''], '--out'],
    ['export --out', ['export', '--checkpoint', 'x.safetensors', '--out', ''], '--out'],
    ['eval --checkpoint', ['eval', '--checkpoint', ''], '--checkpoint'],
    ['report <dir>', ['report', ''], 'the <dir> of report'],
    ['reproduce --out', ['reproduce', '--out', ''], '--out'],
    ['data verify --data-dir', ['data', 'verify', '--data-dir', ''], '--data-dir'],
    ['launch -- train --out', ['launch', '--nproc', '2', '--', 'train', '--out', ''], '--out'],
  ];
  for (const [name, args, what] of cases) {
    it(`${name} ''`, () => {
      const cwd = join(root, name.replace(/[^a-z]+/g, '-'));
      mkdirSync(cwd);
      const r = cli(args, cwd); // refused before a backend starts
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `stcsnn: error: ${what} must not be empty\n`);
      assert.deepEqual(readdirSync(cwd), [], 'nothing is written in the current folder');
    });
  }
});

describe('a directory that cannot be created leaves none of the parents it made', () => {
  it('makeDirs: an over-long last component (ENAMETOOLONG)', () => {
    const base = join(root, 'long1');
    mkdirSync(base);
    assert.throws(() => makeDirs(join(base, 'a', 'b', 'x'.repeat(300))), { code: 'ENAMETOOLONG' });
    assert.deepEqual(readdirSync(base), []);
  });

  it('makeDirs: a 4,218-character path of short components', () => {
    const base = join(root, 'long2');
    mkdirSync(base);
    const path = join(base, Array.from({ length: 2109 }, () => 'd').join('/'));
    assert.throws(() => makeDirs(path), { code: 'ENAMETOOLONG' });
    assert.deepEqual(readdirSync(base), []);
  });

  it('makeDirs: a folder created meanwhile by another process is kept', () => {
    const base = join(root, 'long3');
    mkdirSync(join(base, 'a'), { recursive: true });
    mkdirSync(join(base, 'a', 'other'));
    assert.throws(() => makeDirs(join(base, 'a', 'b', 'x'.repeat(300))));
    assert.deepEqual(readdirSync(join(base, 'a')), ['other']);
  });

  it('train --out with a name too long: exit 2 naming the path, nothing left', () => {
    const cwd = join(root, 'long-cli');
    mkdirSync(cwd);
    const r = cli(['train', ...TINY, '--backend', backend, '--out', join('a', 'b', 'x'.repeat(300))], cwd);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^stcsnn: error: cannot create run directory .*: name too long \(ENAMETOOLONG\)\n$/,
    );
    assert.deepEqual(readdirSync(cwd), []);
  });
});

describe('--threads above the cores', () => {
  it('is capped at the cores, with a warning', () => {
    const cores = availableParallelism();
    const notices: string[] = [];
    assert.equal(
      threadsFor('999', (l) => notices.push(l)),
      cores,
    );
    assert.deepEqual(notices, [
      `warning: --threads 999 is more than the ${cores} cores of this machine; using ${cores}`,
    ]);
    assert.equal(
      threadsFor('3', (l) => notices.push(l), 4),
      3,
    );
    assert.equal(notices.length, 1, 'no warning within the cores');
    assert.throws(() => threadsFor('0', () => {}), /--threads must be an integer in 1\.\.1024, got 0/);
  });

  it('stcsnn train --threads 999 trains with the cap and says so', () => {
    const cwd = join(root, 'threads');
    mkdirSync(cwd);
    const r = cli(['train', ...TINY, '--backend', backend, '--threads', '999', '--out', 'run'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /stcsnn: warning: --threads 999 is more than the \d+ cores of this machine; using \d+/,
    );
    assert.ok(existsSync(join(cwd, 'run', 'result.json')));
  });
});

it("commander's errors carry the stcsnn: error: prefix", () => {
  const r = cli(['train', '--bogus'], root);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n')[0], "stcsnn: error: unknown option '--bogus'");
  const d = cli(['data', 'info', '--bogus'], root);
  assert.equal(d.stderr.split('\n')[0], "stcsnn: error: unknown option '--bogus'");
});
