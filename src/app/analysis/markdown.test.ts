/**
 * The one markdown table renderer (cells escaped: a `|` or a line break stays inside its cell) and
 * the one renderer of the runaway monitor's STCB rows, in the monitor's and the reports' style.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPORT_STYLE } from './format.js';
import { mdCell, mdTable } from './markdown.js';
import {
  MONITOR_COLUMNS,
  MONITOR_STYLE,
  stcbCells,
  stcbHeader,
  stcbTable,
  type StcbColumnSpec,
} from '../../lib/analysis/stcb-rows.js';

test('a table cell escapes | and line breaks, so every row keeps its cells', () => {
  assert.equal(mdCell('a|b'), 'a\\|b');
  assert.equal(mdCell('one\ntwo\r\nthree'), 'one<br>two<br>three');
  const md = mdTable(['x | y', 'z'], [['failed: a | b', 'line\nbreak']]);
  assert.equal(md, '| x \\| y | z |\n| --- | --- |\n| failed: a \\| b | line<br>break |');
  for (const line of md.split('\n')) assert.equal(line.split(/(?<!\\)\|/).length - 2, 2, line);
});

const figures = {
  layer: 'blocks.0.conv',
  S: 2,
  input_max: 6e6,
  input_p999: 3e6,
  saturated_share: 0.25,
  nonpositive_share: 0.5,
  fire_rate: 0.125,
  bn: { layer: 'blocks.0.bn', gamma_abs_mean: 0.5, gamma_abs_max: 2e5 },
};

test("the monitor's table: every column, three significant digits, shares to one decimal", () => {
  const t = stcbTable([figures, { ...figures, layer: 'b', bn: null }]);
  assert.deepEqual(t[0], stcbHeader(MONITOR_COLUMNS));
  assert.deepEqual(t[1], [
    'blocks.0.conv',
    '2.00',
    '6.00e+6',
    '3.00e+6',
    '1.50e+6',
    '25.0%',
    '50.0%',
    '0.1250',
    'blocks.0.bn',
    '0.500',
    '2.00e+5',
  ]);
  assert.deepEqual(t[2].slice(-3), ['-', '-', '-']);
});

test("the reports' style: two decimals, shares to two decimals; `-` for what is not recorded", () => {
  const cols: StcbColumnSpec[] = [
    ['layer', 'layer'],
    ['input_p999', 'p'],
    ['p999_over_S', 'r'],
    ['saturated', 's'],
    ['gamma_mean', 'g'],
  ];
  const { S: _S, ...noS } = figures;
  assert.deepEqual(stcbCells(noS, cols, REPORT_STYLE), ['blocks.0.conv', '3.00e+6', '-', '25.00%', '0.50']);
  assert.deepEqual(stcbCells(undefined, cols, MONITOR_STYLE), ['-', '-', '-', '-', '-']);
});
