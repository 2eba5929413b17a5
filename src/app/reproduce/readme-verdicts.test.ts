/**
 * README.md, docs/reproduce.md and docs/results/README.md quote the committed reports' verdicts
 * whole, never reword or shorten them. In the tables (docs/reproduce.md, docs/results/README.md) a
 * verdict cell holds one or more items `<short claim>: <verdict>`, separated by `<br>`, and each
 * item's `<verdict>` is the whole computed text of one of the verdicts in the report.json of the
 * experiment that row links (not of any other row's report). README.md's headline results are a
 * list: an item links its report, and each of its quote lines (`> <verdict>`, one verdict a line)
 * is the whole computed text of one of that report's verdicts.
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

/**
 * README.md's quoted verdicts: each `> ` line, with the experiment of the last report the list item
 * linked before it (a line starting `- ` or `#` starts a new item; `>` lines left empty separate
 * two quotes).
 */
function quotedVerdicts(md: string): { experiment: string | undefined; quote: string; line: number }[] {
  const out: { experiment: string | undefined; quote: string; line: number }[] = [];
  let experiment: string | undefined;
  md.split('\n').forEach((line, i) => {
    if (/^(- |#)/.test(line)) experiment = undefined;
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      if (quote[1].trim() !== '') out.push({ experiment, quote: quote[1].trim(), line: i + 1 });
      return;
    }
    for (const m of line.matchAll(/\(([^)]*\/)?([\w-]+)\/report\.md\)/g)) experiment = m[2];
  });
  return out;
}

function reportVerdicts(experiment: string): Set<string> {
  const report = JSON.parse(read(`docs/results/${experiment}/report.json`)) as {
    verdicts: { text: string }[];
  };
  return new Set(report.verdicts.map((v) => v.text));
}

test("README.md: each quoted verdict is, whole, a computed verdict of its item's report", () => {
  const quotes = quotedVerdicts(read('README.md'));
  assert.ok(quotes.length >= 6, 'README.md: quoted verdicts');
  for (const { experiment, quote, line } of quotes) {
    assert.ok(experiment, `README.md:${line}: a quote in an item that links no report`);
    assert.ok(
      reportVerdicts(experiment).has(quote),
      `README.md:${line}: '${quote}' is not, whole, a verdict of ${experiment}/report.json`,
    );
  }
});

for (const doc of ['docs/reproduce.md', 'docs/results/README.md']) {
  test(`${doc}: the verdict column quotes its row's report's computed verdicts whole`, () => {
    const rows = verdictCells(read(doc));
    assert.ok(rows.length >= 6, `${doc}: rows linking a report`);
    for (const { experiment, cell } of rows) {
      const texts = reportVerdicts(experiment);
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
