/**
 * Markdown for every `report.md` (run, repeat group and sweep reports here; the experiment
 * reports of `src/app/reproduce/`): tables with their cells escaped, and a document that collects
 * its lines and the figures it shows. Pure: writing the file is the caller's (temp and rename).
 */
import type { Figure } from './charts.js';

/**
 * A table cell as markdown: `|` escaped (`\|`) and line breaks as `<br>`, so that a cell holding
 * either (an error message, a free-text label) stays one cell of one row.
 */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r\n|\r|\n/g, '<br>');
}

/** A markdown table: the header, the `---` rule, then one line per row; every cell escaped. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `| ${header.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** The lines of a markdown document and the figures it shows (`figures/<name>.svg`). */
export class MarkdownDoc {
  readonly lines: string[] = [];
  readonly figures: Figure[] = [];

  /** Appends lines as they are. */
  push(...lines: string[]): void {
    this.lines.push(...lines);
  }

  /** Shows a figure (its SVG under `figures/`, the caption below it) and keeps it for writing. */
  figure(f: Figure): void {
    this.figures.push(f);
    this.lines.push(`![${f.caption}](figures/${f.name}.svg)`, '', `*${f.caption}*`, '');
  }

  /** The document's text. */
  text(): string {
    return this.lines.join('\n');
  }
}
