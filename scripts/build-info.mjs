#!/usr/bin/env node
// Writes dist/build-info.json, the code version every run records (src/lib/util/build-info.ts):
// the package version; the git commit and whether the files the build reads were modified
// (null outside a git checkout, e.g. an installed package); and dist_sha256, a hash of every
// compiled file of dist/ (relative path and content, in byte order of the paths), which tells
// two builds apart whatever git says. Part of `npm run build` (last, after tsc and the copies).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OUT = 'dist/build-info.json';
/** What the build reads: a change here makes the tree "modified". */
const CODE_PATHS = ['src', 'scripts', 'packages/libtorch/src', 'packages/libtorch/lib', 'package.json', 'package-lock.json', 'tsconfig.json'];

if (process.argv.includes('--help')) {
  console.log('usage: node scripts/build-info.mjs   (after tsc; writes dist/build-info.json)');
  process.exit(0);
}

function git(args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function files(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...files(dir, r));
    else if (e.isFile() && r !== 'build-info.json') out.push(r);
  }
  return out;
}

const h = createHash('sha256');
for (const r of files('dist').sort()) h.update(`${r}\0`).update(readFileSync(join('dist', r))).update('\n');
const commit = git(['rev-parse', 'HEAD']);
const status = commit === null ? null : git(['status', '--porcelain', '--', ...CODE_PATHS]);
const info = {
  version: JSON.parse(readFileSync('package.json', 'utf8')).version,
  commit,
  modified: status === null ? null : status.length > 0,
  dist_sha256: `sha256:${h.digest('hex')}`,
};
writeFileSync(`${OUT}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
renameSync(`${OUT}.tmp`, OUT);
