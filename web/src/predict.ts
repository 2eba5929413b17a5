/**
 * Section 3: classify a drawn or a test image; show the top classes, each STCB layer's fire
 * rate, a raster of a chosen layer and the energy estimate against the ANN twin.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  computeEnergy,
  encodeScalar,
  normalizeInPlace,
  SpikeStatsRecorder,
  type StcConfig,
} from '../../src/browser.js';
import { Chart, drawRaster } from './charts.js';
import { testSet } from './data.js';
import { currentModel } from './model.js';

const SIDE = 28;
const RASTER_NEURONS = 64;

/** A recorder that also keeps the STEB inputs of the first sample of each layer (for rasters). */
class RasterRecorder extends SpikeStatsRecorder {
  readonly inputs = new Map<string, { values: Float32Array; cfg: StcConfig }>();
  override record(label: string, x: tf.Tensor, cfg: StcConfig): void {
    super.record(label, x, cfg);
    const per = x.size / x.shape[0];
    this.inputs.set(label, { values: (x.dataSync() as Float32Array).slice(0, per), cfg });
  }
}

/** Softmax of one row, in float64 with the maximum subtracted (as `stcsnn predict`). */
export function softmax(logits: ArrayLike<number>): number[] {
  const row = Array.from(logits);
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

/** The 28x28 drawing surface; `pixels` holds 0..255 grey values. */
class DrawPad {
  readonly pixels = new Uint8ClampedArray(SIDE * SIDE);
  private down = false;
  constructor(private readonly canvas: HTMLCanvasElement) {
    canvas.addEventListener('pointerdown', (e) => {
      this.down = true;
      canvas.setPointerCapture(e.pointerId);
      this.paint(e);
    });
    canvas.addEventListener('pointermove', (e) => this.down && this.paint(e));
    canvas.addEventListener('pointerup', () => (this.down = false));
    this.render();
  }
  private paint(e: PointerEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const cx = ((e.clientX - r.left) / r.width) * SIDE;
    const cy = ((e.clientY - r.top) / r.height) * SIDE;
    for (let y = Math.floor(cy - 2); y <= Math.ceil(cy + 2); y++) {
      for (let x = Math.floor(cx - 2); x <= Math.ceil(cx + 2); x++) {
        if (x < 0 || y < 0 || x >= SIDE || y >= SIDE) continue;
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const v = Math.max(0, Math.min(1, 1.6 - d)) * 255;
        this.pixels[y * SIDE + x] = Math.max(this.pixels[y * SIDE + x], v);
      }
    }
    this.render();
  }
  set(pixels: ArrayLike<number>): void {
    this.pixels.set(pixels);
    this.render();
  }
  render(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = this.pixels[i];
      img.data.set([v, v, v, 255], i * 4);
    }
    const tmp = document.createElement('canvas');
    tmp.width = SIDE;
    tmp.height = SIDE;
    tmp.getContext('2d')?.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, this.canvas.width, this.canvas.height);
  }
}

/** Wires the classify section. */
export async function setupPredict(): Promise<{ classify: () => Promise<void> }> {
  const pad = new DrawPad(el('draw'));
  const sample = el<HTMLSelectElement>('sample');
  const layerSel = el<HTMLSelectElement>('raster-layer');
  const fireChart = new Chart(
    el('fire-chart'),
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { name: 'table' },
      height: 200,
      mark: 'bar',
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: null, title: null },
        x: { field: 'rate', type: 'quantitative', title: 'fire rate', scale: { domain: [0, 1] } },
      },
    },
    'fire rate per STCB layer',
  );
  let lastInputs: RasterRecorder['inputs'] | undefined;

  const showRaster = (): void => {
    const rec = lastInputs?.get(layerSel.value);
    if (!rec) return;
    const active: number[] = [];
    for (let i = 0; i < rec.values.length && active.length < RASTER_NEURONS; i++)
      if (rec.values[i] > 0) active.push(i);
    const T = rec.cfg.T;
    const spikes = new Uint8Array(active.length * T);
    active.forEach((n, r) =>
      encodeScalar(rec.values[n], rec.cfg).spikes.forEach((s, t) => (spikes[r * T + t] = s)),
    );
    drawRaster(el('layer-raster'), spikes, active.length, T);
  };
  layerSel.addEventListener('change', showRaster);

  const classify = async (): Promise<void> => {
    const m = currentModel();
    if (!m) return;
    const x = Float32Array.from(pad.pixels);
    if (m.file.normalization) normalizeInPlace(x, 1, m.file.normalization);
    const recorder = m.net.config.mode === 'stc' ? new RasterRecorder() : undefined;
    const logits = tf.tidy(() =>
      m.net.forward(tf.tensor4d(x, [1, SIDE, SIDE, 1]), { training: false, stats: recorder }),
    );
    const probs = softmax(await logits.data());
    logits.dispose();
    const names = m.file.classNames ?? probs.map((_, i) => String(i));
    const top = probs
      .map((p, c) => ({ c, p }))
      .sort((a, b) => b.p - a.p || a.c - b.c)
      .slice(0, 5);
    const list = el('top');
    list.replaceChildren(
      ...top.map((t) => {
        const li = document.createElement('li');
        li.textContent = `${names[t.c]} (class ${t.c}): ${(t.p * 100).toFixed(2)} %`;
        li.dataset.class = String(t.c);
        return li;
      }),
    );
    list.dataset.probs = JSON.stringify(probs);
    if (!recorder) {
      el('energy').textContent = 'An ANN model: no spikes to count.';
      return;
    }
    const stats = recorder.result();
    await fireChart.set(stats.map((s) => ({ layer: s.layer, rate: s.fireRate })));
    const energy = computeEnergy(
      m.net.layers,
      new Map(stats.map((s) => [s.layer, s.spikesPerNeuron])),
      m.net.config.stc.T,
    );
    const uj = (pj: number) => (pj / 1e6).toFixed(2);
    el('energy').textContent =
      `Energy estimate for this image: SNN ${uj(energy.total.snnEnergyPj)} µJ against ${uj(energy.total.annEnergyPj)} µJ for the ANN twin ` +
      `(${energy.total.ratio.toFixed(2)}× less; 45 nm figures, E_MAC ${energy.constants.eMac} pJ, E_AC ${energy.constants.eAc} pJ).`;
    lastInputs = recorder.inputs;
    const prev = layerSel.value;
    layerSel.replaceChildren(
      ...stats.map((s) => {
        const o = document.createElement('option');
        o.value = o.textContent = s.layer;
        return o;
      }),
    );
    if (stats.some((s) => s.layer === prev)) layerSel.value = prev;
    showRaster();
  };

  el('clear').addEventListener('click', () => pad.set(new Uint8Array(SIDE * SIDE)));
  el('classify').addEventListener('click', () => void classify());
  el('draw').addEventListener('pointerup', () => void classify());
  el('draw').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      void classify();
    }
  });
  const set = await testSet();
  const names = currentModel()?.file.classNames;
  const options: HTMLOptionElement[] = [];
  for (let i = 0; i < Math.min(100, set.count); i++) {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = `#${i} (${names?.[set.labels[i]] ?? set.labels[i]})`;
    options.push(o);
  }
  sample.replaceChildren(...options);
  const pick = (): void => {
    const i = Number(sample.value);
    pad.set(set.pixels.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE));
    void classify();
  };
  sample.addEventListener('change', pick);
  pick();
  return { classify };
}
