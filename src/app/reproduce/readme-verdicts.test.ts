/**
 * README.md and docs/results/README.md quote the committed reports' verdicts, never reword them:
 * every outcome in a verdict cell (`claim: agrees (relu mask), disagrees (clipped mask); ...`)
 * is the text before the colon of one of the verdicts in that experiment's report.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const repo = new URL('../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, repo), 'utf8');

/** The rows of the markdown table whose header has a column starting with `verdict`. */
function verdictCells(md: string): { experiment: string; cell: string }[] {
  const lines = md.split('\n');
  const out: { experiment: string; cell: string }[] = [];
  let col = -1;
  for (const line of lines) {
    if (!line.startsWith('|')) {
      col = -1;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    if (col < 0) {
      col = cells.findIndex((c) => /^verdict/.test(c));
      continue;
    }
    const exp = /\(([^)]*\/)?([\w-]+)\/report\.md\)/.exec(cells[0])?.[2];
    if (exp && col >= 0) out.push({ experiment: exp, cell: cells[col] });
  }
  return out;
}

for (const doc of ['README.md', 'docs/results/README.md']) {
  test(`${doc}: the verdict column quotes the reports' computed verdicts`, () => {
    const rows = verdictCells(read(doc));
    assert.ok(rows.length >= 6, `${doc}: rows linking a report`);
    for (const { experiment, cell } of rows) {
      const report = JSON.parse(read(`docs/results/${experiment}/report.json`)) as {
        verdicts: { text: string }[];
      };
      const said = new Set(report.verdicts.map((v) => v.text.split(':')[0]));
      const quoted = cell.split('; ').flatMap((part) => {
        const i = part.indexOf(': ');
        assert.ok(i > 0, `${doc} ${experiment}: '${part}' is 'claim: verdict, ...'`);
        return part.slice(i + 2).split(', ');
      });
      for (const q of quoted)
        assert.ok(said.has(q), `${doc} ${experiment}: '${q}' is not a verdict of its report`);
    }
  });
}
