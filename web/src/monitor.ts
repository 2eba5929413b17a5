/**
 * Section 4's runaway monitor: after the in-page run, the same per-STCB figures that `stcsnn train`
 * writes into every log.jsonl line (`stcb`: STEB input max and 99.9th percentile, the shares at or
 * above the saturation level S and at or below 0, the fire rate, the feeding batch norm's |gamma|),
 * measured on the first MONITOR_SAMPLES images of the embedded test subset, and the runaway rule's
 * verdict (docs/reliability.md, "Saturation runaway").
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  findRunaway,
  MONITOR_SAMPLES,
  normalizeInPlace,
  RUNAWAY_P999_FACTOR,
  StcbMonitor,
  stcbFigures,
  stcbTable,
  type Network,
  type Normalization,
} from '../../src/browser.js';
import type { ImageSet } from './data.js';

/** Measures `net` on the first images of `set` and writes the table and verdict into `host`. */
export function showMonitor(net: Network, set: ImageSet, norm: Normalization, host: HTMLElement): void {
  const n = Math.min(MONITOR_SAMPLES, set.count);
  const per = set.rows * set.cols;
  const xs = new Float32Array(set.pixels.subarray(0, n * per));
  normalizeInPlace(xs, 1, norm);
  const monitor = new StcbMonitor(n);
  const x = tf.tensor4d(xs, [n, set.rows, set.cols, 1]);
  tf.dispose(net.forward(x, { training: false, stats: monitor }));
  x.dispose();
  monitor.batchDone(n);
  const figures = stcbFigures(net, monitor);
  const [header, ...rows] = stcbTable(figures);
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of header) head.appendChild(document.createElement('th')).textContent = h;
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
  const runaway = findRunaway(figures);
  const verdict = document.createElement('p');
  verdict.id = 'train-monitor-verdict';
  verdict.textContent = runaway
    ? `Runaway: ${runaway.layer}'s 99.9th percentile input is ${runaway.factor.toPrecision(3)} S (the rule: ${RUNAWAY_P999_FACTOR} S).`
    : `No layer runs away: every layer's 99.9th percentile input is below ${RUNAWAY_P999_FACTOR} S.`;
  const caption = document.createElement('p');
  caption.textContent = `STEB inputs per STCB layer on the first ${n} test images (the figures of stcsnn train's log.jsonl, "stcb").`;
  host.replaceChildren(caption, table, verdict);
  host.dataset.layers = String(rows.length);
}
