/**
 * Paths: a data archive cannot write outside its extraction folder, whatever its entries say
 * (`..`, absolute paths, backslashes, symbolic and hard links, chains of links, duplicates);
 * and an existing run directory is never overwritten or deleted without `--force`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { DataError } from '../../lib/data/types.js';
import { extractionDir, extractTarGzCached } from '../../lib/data/readers/archive.js';
import { rawTarGz, type RawTarEntry } from '../../lib/data/readers/fixture-files.test-support.js';
import { TINY_RUN, runCli } from '../cli/cli-run.test-support.js';

const root = fs.mkdtempSync(path.join(tmpdir(), 'stcsnn-paths-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Path segments, with distinctive names so that an escape could be spotted anywhere. */
const SEGMENT = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('zqa', 'zqb', 'zqc', '.') },
  { weight: 3, arbitrary: fc.constant('..') },
  { weight: 1, arbitrary: fc.constantFrom('', '..\\zqa', 'zqa\\..\\..', 'C:') },
);
const PATH = fc
  .tuple(fc.nat(9), fc.array(SEGMENT, { minLength: 1, maxLength: 4 }))
  .map(([dice, segs]) => (dice === 0 ? '/' : '') + segs.join('/'));
const ENTRY: fc.Arbitrary<RawTarEntry> = fc.oneof(
  { weight: 3, arbitrary: PATH.map((p) => ({ path: p, data: Buffer.from('escaped?') })) },
  { weight: 2, arbitrary: PATH.map((p) => ({ path: `${p}/`, type: 'Directory' as const })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        PATH,
        fc.oneof(
          { weight: 6, arbitrary: PATH },
          { weight: 1, arbitrary: fc.constantFrom('/tmp', '/', '../../..', '..') },
        ),
      )
      .map(([p, l]) => ({ path: p, type: 'SymbolicLink' as const, linkpath: l })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(PATH, PATH).map(([p, l]) => ({ path: p, type: 'Link' as const, linkpath: l })),
  },
);

/** Every path under `dir` (lstat: links are not followed). */
function walk(dir: string, out: string[] = []): string[] {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    out.push(p);
    if (d.isDirectory()) walk(p, out);
  }
  return out;
}

function inside(parent: string, p: string): boolean {
  const rel = path.relative(parent, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

test('fuzz: archive entries never land outside the extraction folder', async (t) => {
  const counts = { inputs: 0, extracted: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(ENTRY, { minLength: 1, maxLength: 4 }), async (entries) => {
      // sandbox/l1/l2/l3/work/{data.tar.gz, cache/extracted/<dest>}: escapes of a few levels
      // stay inside the sandbox, where the walk below sees them.
      const sandbox = fs.mkdtempSync(path.join(root, 's-'));
      const work = path.join(sandbox, 'l1', 'l2', 'l3', 'work');
      fs.mkdirSync(work, { recursive: true });
      const archive = path.join(work, 'data.tar.gz');
      fs.writeFileSync(archive, rawTarGz([{ path: 'ok/', type: 'Directory' }, ...entries]));
      const cache = path.join(work, 'cache');
      const dest = extractionDir(archive, cache);
      counts.inputs++;
      try {
        await extractTarGzCached(archive, cache);
        counts.extracted++;
      } catch (e) {
        assert.ok(e instanceof DataError, `only DataError: ${String(e)}`);
        assert.ok(e.message.startsWith(archive) && !e.message.includes('\n'), e.message);
        counts.refused++;
      }
      const what = JSON.stringify(entries);
      const allowed = new Set([
        path.join(sandbox, 'l1'),
        path.join(sandbox, 'l1', 'l2'),
        path.join(sandbox, 'l1', 'l2', 'l3'),
        work,
        archive,
        cache,
        path.dirname(dest),
      ]);
      for (const p of walk(sandbox)) {
        if (allowed.has(p)) continue;
        assert.ok(inside(dest, p), `${p} is outside ${dest} (${what})`);
        if (fs.lstatSync(p).isSymbolicLink()) {
          const target = path.resolve(path.dirname(p), fs.readlinkSync(p));
          assert.ok(inside(dest, target), `link ${p} -> ${target} leaves ${dest} (${what})`);
        }
      }
      fs.rmSync(sandbox, { recursive: true, force: true });
    }),
    { numRuns: 300, seed: 20261130, includeErrorInReport: true },
  );
  for (const name of ['zqa', 'zqb', 'zqc']) {
    assert.ok(!fs.existsSync(path.join(root, name)) && !fs.existsSync(path.join(tmpdir(), name)), name);
  }
  t.diagnostic(
    `fuzz: ${counts.inputs} hostile archives: ${counts.refused} refused, ${counts.extracted} extracted inside their folder`,
  );
  assert.ok(counts.refused > 0 && counts.extracted > 0);
});

test('archives that made node-tar wait forever are refused before extraction (found by the fuzz above)', async () => {
  const file = (p: string): RawTarEntry => ({ path: p, data: Buffer.from('x') });
  const cases: [RawTarEntry[], RegExp][] = [
    [[{ path: 'a/b', type: 'SymbolicLink', linkpath: 'a' }], /contains or is contained in the entry/],
    [
      [{ path: 'a/b', type: 'SymbolicLink', linkpath: 'a/b/..' }],
      /non-normalised target|contained in the entry/,
    ],
    [
      [{ path: 'a', type: 'SymbolicLink', linkpath: 'a/c/c' }],
      /contained in the entry|through the symbolic link/,
    ],
    [[{ path: 'a/b', type: 'SymbolicLink', linkpath: 'a' }, file('a/b')], /symbolic link|contained/],
    [[{ path: 'a/b', type: 'SymbolicLink', linkpath: 'c' }, file('a/b')], /replaces a symbolic link/],
    [[file('a'), file('a')], /repeats a path/],
    [[{ path: 'l', type: 'SymbolicLink', linkpath: 'd' }, file('l/x')], /below the symbolic link 'l'/],
    [
      [
        { path: 'l', type: 'SymbolicLink', linkpath: 'm' },
        { path: 'm', type: 'SymbolicLink', linkpath: 'l' },
      ],
      /through the symbolic link/,
    ],
  ];
  let k = 0;
  for (const [entries, re] of cases) {
    const archive = path.join(root, `hang${k++}.tar.gz`);
    fs.writeFileSync(archive, rawTarGz(entries));
    await assert.rejects(extractTarGzCached(archive, path.join(root, 'hang-cache')), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`${archive}: refused, entry `), e.message);
      return true;
    });
  }
  assert.ok(
    !fs.existsSync(path.join(root, 'hang-cache', 'extracted')) ||
      fs.readdirSync(path.join(root, 'hang-cache', 'extracted')).length === 0,
  );
});

test('--out on a non-empty run directory without --force refuses and leaves every file as it was', () => {
  const dir = path.join(root, 'run');
  fs.mkdirSync(dir);
  const files: Record<string, string> = {
    'config.json': '{"dataset":"fashion-mnist-mini"}\n',
    'log.jsonl': '{"epoch":0}\n',
    'last.safetensors': 'not really a checkpoint',
    'notes.txt': 'mine',
  };
  for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), c);
  const mtimes = Object.keys(files).map((n) => fs.statSync(path.join(dir, n)).mtimeMs);
  // (cli-fuzz.test.ts refuses hundreds of flag combinations in-process; this is the real process)
  const r = runCli(['train', '--backend', 'cpu', '--epochs', '1', '--out', dir]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /exists and is not empty \(use --force to overwrite, or --resume /);
  assert.deepEqual(fs.readdirSync(dir).sort(), Object.keys(files).sort());
  for (const [n, c] of Object.entries(files)) assert.equal(fs.readFileSync(path.join(dir, n), 'utf8'), c, n);
  assert.deepEqual(
    Object.keys(files).map((n) => fs.statSync(path.join(dir, n)).mtimeMs),
    mtimes,
  );
});

test("--force removes an earlier run's files (and its seed folders) before training, and keeps every other file", () => {
  const dir = path.join(root, 'forced');
  fs.mkdirSync(path.join(dir, 'seed-3'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'seed-other'));
  const earlier: Record<string, string> = {
    'repeats.json': '{"earlier":true}\n',
    'result.json': '{"earlier":true}\n',
    'seed-3/config.json': '{}\n',
    'seed-3/best.safetensors': 'an earlier checkpoint',
    '.last.safetensors.99999.0.tmp': 'half a checkpoint',
  };
  const mine: Record<string, string> = { 'notes.txt': 'mine', 'seed-other/keep.txt': 'mine too' };
  for (const [n, c] of Object.entries({ ...earlier, ...mine })) fs.writeFileSync(path.join(dir, n), c);
  const r = runCli([
    'train',
    '--backend',
    process.env.STCSNN_TEST_BACKEND ?? 'wasm',
    '--dataset',
    'fashion-mnist-mini',
    '--arch',
    'vgg11',
    ...TINY_RUN,
    '--batch-size',
    '32',
    '--out',
    dir,
    '--force',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const [n, c] of Object.entries(mine)) assert.equal(fs.readFileSync(path.join(dir, n), 'utf8'), c, n);
  assert.ok(!fs.existsSync(path.join(dir, 'repeats.json')), 'the earlier repeats.json is gone');
  assert.ok(!fs.existsSync(path.join(dir, 'seed-3')), 'the earlier seed run folder is gone');
  assert.ok(!fs.existsSync(path.join(dir, '.last.safetensors.99999.0.tmp')), 'the stale temporary is gone');
  const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.equal(result.earlier, undefined, "result.json is this run's");
  assert.ok(fs.existsSync(path.join(dir, 'best.safetensors')), 'this run wrote its checkpoint');
});
