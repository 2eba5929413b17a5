/** Section 1: STEB/CAB on a range of inputs as theta0, tau, T, schedule, firing test and membrane start change. */
import {
  encodeScalar,
  hasErrorBound,
  saturation,
  inputShift,
  stcConfig,
  thresholds,
  type StcConfig,
} from '../../src/browser.js';
import { Chart, drawRaster } from './charts.js';

/** Input values per raster (rows). */
const ROWS = 24;
/** Points of the residual curve. */
const POINTS = 240;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

/** Wires the explorer's controls; draws once. */
export function setupExplorer(): void {
  const ids = ['theta0', 'tau', 'T', 'schedule', 'fire', 'shift'] as const;
  const inputs = Object.fromEntries(
    ids.map((id) => [id, el<HTMLInputElement | HTMLSelectElement>(id)]),
  ) as Record<(typeof ids)[number], HTMLInputElement | HTMLSelectElement>;
  const chart = new Chart(
    el('stc-error-chart'),
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { name: 'table' },
      height: 200,
      layer: [
        {
          mark: { type: 'line', clip: true },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'input x' },
            y: { field: 'err', type: 'quantitative', title: '|q(x) − x|' },
            color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
          },
        },
      ],
    },
    'residual error of the decoded value against the input, with the error bound',
  );
  const draw = (): void => {
    for (const id of ['theta0', 'tau', 'T'] as const) el(`${id}-out`).textContent = inputs[id].value;
    let cfg: StcConfig;
    try {
      cfg = stcConfig({
        theta0: Number(inputs.theta0.value),
        tau: Number(inputs.tau.value),
        T: Number(inputs.T.value),
        schedule: inputs.schedule.value as StcConfig['schedule'],
        fire: inputs.fire.value as StcConfig['fire'],
        shift: inputs.shift.value as StcConfig['shift'],
      });
    } catch (e) {
      el('stc-error').textContent = (e as Error).message;
      return;
    }
    el('stc-error').textContent = '';
    const sat = saturation(cfg);
    const th = thresholds(cfg);
    // the error bound: theta(T-1) rounding down, half of it rounding to nearest (shift half)
    const bound = th[th.length - 1] * (cfg.shift === 'half' ? 0.5 : 1);
    const bounded = hasErrorBound(cfg);
    const top = 1.2 * sat;
    const spikes = new Uint8Array(ROWS * cfg.T);
    for (let r = 0; r < ROWS; r++) {
      encodeScalar((r / (ROWS - 1)) * top, cfg).spikes.forEach((s, t) => (spikes[r * cfg.T + t] = s));
    }
    drawRaster(el('stc-raster'), spikes, ROWS, cfg.T);
    let worst = 0;
    const values: object[] = [];
    for (let i = 0; i <= POINTS; i++) {
      const x = (i / POINTS) * top;
      const err = Math.abs(encodeScalar(x, cfg).decoded - x);
      if (x < sat - inputShift(cfg)) worst = Math.max(worst, err);
      values.push({ x, err, series: '|q(x) − x|' });
    }
    const boundName = cfg.shift === 'half' ? 'bound θ(T−1)/2' : 'bound θ(T−1)';
    if (bounded)
      values.push(
        { x: 0, err: bound, series: boundName },
        { x: sat - inputShift(cfg), err: bound, series: boundName },
      );
    void chart.set(values);
    el('stc-summary').textContent =
      `Σθ = ${sat.toPrecision(4)} (inputs above saturate); θ(T−1) = ${bound.toPrecision(3)}; ` +
      (bounded
        ? `this schedule bounds the error on [0, Σθ${cfg.shift === 'half' ? ' − θ(T−1)/2' : ''}) by ${boundName.slice(6)}; largest seen ${worst.toPrecision(3)}.`
        : `this schedule has no θ(T−1) bound (some θ(t) exceeds θ(T−1) + Σ later θ); largest error ${worst.toPrecision(3)}.`);
  };
  for (const id of ids) inputs[id].addEventListener('input', draw);
  draw();
}
