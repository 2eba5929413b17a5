/** Charts of the page: spike rasters on a canvas, everything else with vega-lite (SVG). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Draws a binary raster `rows x cols` (row-major 0/1) on `canvas`, one cell per spike, and
 * records its size in `data-rows` / `data-columns` (the tests read them).
 */
export function drawRaster(
  canvas: HTMLCanvasElement,
  spikes: ArrayLike<number>,
  rows: number,
  cols: number,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  canvas.dataset.rows = String(rows);
  canvas.dataset.columns = String(cols);
  const w = canvas.width;
  const h = canvas.height;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  if (rows === 0 || cols === 0) return;
  const cw = w / cols;
  const rh = h / rows;
  ctx.fillStyle = '#111';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (spikes[r * cols + c])
        ctx.fillRect(c * cw + cw * 0.15, r * rh + rh * 0.1, cw * 0.7, Math.max(1, rh * 0.8));
    }
  }
  ctx.strokeStyle = '#ccc';
  ctx.beginPath();
  for (let c = 1; c < cols; c++) {
    ctx.moveTo(c * cw, 0);
    ctx.lineTo(c * cw, h);
  }
  ctx.stroke();
}

/** A vega-lite chart in `el` whose data can be replaced or appended to. */
export class Chart {
  private view: vega.View | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly el: HTMLElement,
    private readonly spec: TopLevelSpec,
    private readonly label: string,
  ) {
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', label);
  }

  /** Replaces the data (named `table` in the spec) and redraws. */
  set(values: object[]): Promise<void> {
    this.pending = this.pending.then(async () => {
      if (!this.view) {
        const spec = {
          ...this.spec,
          width: 'container',
          autosize: { type: 'fit-x', contains: 'padding' },
        } as TopLevelSpec;
        this.view = new vega.View(vega.parse(compile(spec).spec), {
          renderer: 'svg',
          container: this.el,
          hover: true,
        });
      }
      const view = this.view;
      view.change(
        'table',
        vega
          .changeset()
          .remove(() => true)
          .insert(values),
      );
      await view.runAsync();
      this.el.dataset.points = String(values.length);
    });
    return this.pending;
  }
}
