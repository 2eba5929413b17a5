/* global Buffer, URL */
// The documentation's relative links resolve: every `[text](path)` and `![alt](path)` outside code
// in README.md, docs/**/*.md (not the generated docs/api/), examples/, bench/, src/ and packages/
// READMEs names a file or folder of the repository, and a `#fragment` (on a Markdown target or
// alone) names a heading of that page (GitHub's anchors). And README.md stays a front door: at
// most 15,000 bytes, no line over 200 characters (the rest is in docs/, linked from it).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The Markdown files checked, relative to the repository root. */
function markdownFiles() {
  const walk = (dir) =>
    readdirSync(join(ROOT, dir)).flatMap((name) => {
      const rel = join(dir, name);
      if (['dist', 'node_modules', 'api', 'build'].includes(name)) return [];
      if (statSync(join(ROOT, rel)).isDirectory()) return walk(rel);
      return name.endsWith('.md') ? [rel] : [];
    });
  return [
    'README.md',
    ...walk('docs'),
    ...walk('examples'),
    ...walk('bench'),
    ...walk('src'),
    ...walk('packages'),
  ];
}

/** The lines of a Markdown text with fenced blocks blanked (line numbers kept). */
function outsideFences(md) {
  let fence = null;
  return md.split('\n').map((line) => {
    const open = line.match(/^\s*(`{3,}|~{3,})/);
    if (fence) {
      if (open && open[1].startsWith(fence) && line.trim() === open[1]) fence = null;
      return '';
    }
    if (open) {
      fence = open[1];
      return '';
    }
    return line;
  });
}

/** GitHub's anchors of a page's headings (`## 1.5 Learned thresholds` -> `15-learned-thresholds`). */
function anchors(md) {
  const seen = new Map();
  const out = new Set();
  for (const line of outsideFences(md)) {
    const h = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (!h) continue;
    const slug = h[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

test('the relative links of the documentation resolve to files and headings', () => {
  const broken = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    const md = readFileSync(join(ROOT, file), 'utf8');
    const lines = outsideFences(md).map((line) => line.replace(/(`+)[^`]+?\1/g, ''));
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
        checked++;
        const [path, fragment] = target.split('#');
        const abs = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path));
        const where = `${file}:${i + 1}: ${target}`;
        if (!existsSync(abs)) {
          broken.push(`${where} (no ${relative(ROOT, abs)})`);
          continue;
        }
        if (fragment !== undefined && abs.endsWith('.md')) {
          if (!anchors(readFileSync(abs, 'utf8')).has(fragment.toLowerCase()))
            broken.push(`${where} (no heading #${fragment} in ${relative(ROOT, abs)})`);
        }
      }
    });
  }
  assert.ok(checked >= 50, `only ${checked} relative links found`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('README.md is a front door: at most 15,000 bytes, no line over 200 characters', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const bytes = Buffer.byteLength(readme);
  assert.ok(bytes <= 15_000, `README.md is ${bytes} bytes`);
  const long = readme
    .split('\n')
    .map((line, i) => ({ line: i + 1, length: [...line].length }))
    .filter((l) => l.length > 200);
  assert.deepEqual(long, [], 'README.md lines over 200 characters');
});
