/**
 * README.md and docs/results/README.md quote the committed reports' verdicts whole, never reword
 * or shorten them: a verdict cell holds one or more items `<short claim>: <verdict>`, separated
 * by `<br>`, and each item's `<verdict>` is the whole computed text of one of the verdicts in the
 * report.json of the experiment that row links (not of any other row's report).
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
  test(`${doc}: the verdict column quotes its row's report's computed verdicts whole`, () => {
    const rows = verdictCells(read(doc));
    assert.ok(rows.length >= 6, `${doc}: rows linking a report`);
    for (const { experiment, cell } of rows) {
      const report = JSON.parse(read(`docs/results/${experiment}/report.json`)) as {
        verdicts: { text: string }[];
      };
      const texts = new Set(report.verdicts.map((v) => v.text));
      const items = cell.split('<br>').map((x) => x.trim());
      assert.ok(items.length > 0 && items[0] !== '', `${doc} ${experiment}: an empty verdict cell`);
      for (const item of items) {
        const i = item.indexOf(': ');
        assert.ok(i > 0, `${doc} ${experiment}: '${item}' is '<short claim>: <verdict>'`);
        const quoted = item.slice(i + 2);
        assert.ok(
          texts.has(quoted),
          `${doc} ${experiment}: '${quoted}' is not, whole, a verdict of ${experiment}/report.json`,
        );
      }
    }
  });
}
