/** `stcsnn train --print-config`: the resolved configuration, every field with its source. */
import { DERIVED_DEFAULTS, flattenConfig, type ConfigPath } from '../config/config.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { printJson, table } from './output.js';

/** The JSON form: the configuration, `repeats`, and each field's source by dotted path. */
export function configReport(r: ResolvedConfig, resumedFrom?: string) {
  return {
    config: r.config,
    repeats: r.repeats,
    preset: r.preset ?? null,
    resumed_from: resumedFrom ?? null,
    sources: r.sources,
  };
}

/** Prints the resolved configuration (one JSON object with `json`, else a table on stdout). */
export function printConfig(r: ResolvedConfig, json: boolean, resumedFrom?: string): void {
  if (json) {
    printJson(configReport(r, resumedFrom));
    return;
  }
  const values: Record<string, unknown> = { ...flattenConfig(r.config), repeats: r.repeats };
  const sourceText = (path: string, s: string) =>
    s === 'preset'
      ? `preset ${r.preset}`
      : s === 'dataset'
        ? `dataset ${r.config.dataset}`
        : s === 'derived'
          ? `derived from ${DERIVED_DEFAULTS[path as ConfigPath] ?? '?'}`
          : s;
  const rows = Object.entries(r.sources).map(([path, s]) => [
    path,
    values[path] === undefined ? '-' : String(values[path]),
    sourceText(path, s),
  ]);
  console.log(table([['field', 'value', 'source'], ...rows]));
  if (resumedFrom) console.log(`\n(resumed from ${resumedFrom})`);
}
