/**
 * Text from files (a `log.jsonl` line, class names, a file's own error text) made safe to show:
 * control characters would otherwise reach the terminal (`\e]0;...\a` retitles it, `\e[31m`
 * colours it) or `report.md` raw. Browser-safe.
 */

/** C0 controls, DEL and C1 controls (U+0080 to U+009F). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `s` with every control character written as `\xHH` (ESC as `\x1b`), except those in `keep`
 * (default none; `report.md` keeps its line breaks with `'\n'`).
 */
export function escapeControl(s: string, keep = ''): string {
  return s.replace(CONTROL, (c) =>
    keep.includes(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
