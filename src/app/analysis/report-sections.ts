/**
 * The sections a run report and a repeat group's report share: what a run is, spike statistics
 * per STCB layer with their figures, and the energy against the ANN twin.
 */
import { saturatedFraction, type LayerSpikeStats } from '../../lib/nn/stats.js';
import { networkEnergy, specOfRun } from './run-energy.js';
import { inputHistogram, perLayerChart } from './charts.js';
import type { EnergyConstants, EnergyReport } from '../../lib/analysis/energy.js';
import { inputRange, microjoules, pctOrDash, readable, siCount, times } from './format.js';
import { mdTable, type MarkdownDoc } from './markdown.js';
import type { RunDir } from './rundir.js';
import { evenSpread } from './summary.js';

/** Options of the energy section (`ReportOptions.constants`). */
export interface EnergyOptions {
  readonly constants?: Partial<EnergyConstants>;
}

/**
 * The caption's note on the layers a per-layer figure leaves out (those without operations:
 * pooling, flattening), naming them; empty when it shows every layer.
 */
export function leftOutNote(all: readonly { name: string }[], shown: readonly { name: string }[]): string {
  const kept = new Set(shown.map((l) => l.name));
  const out = all.filter((l) => !kept.has(l.name)).map((l) => l.name);
  if (out.length === 0) return '';
  return ` Left out (no multiply-accumulates or accumulates): ${out.join(', ')}.`;
}

/** What a run is, in one line (architecture, mode, width, data set, T, theta0, tau). */
export function describe(run: RunDir): string {
  const s = run.summary;
  return `${s.arch} (${s.mode}, width ${s.width}) on ${s.dataset}, T=${s.T}, theta0=${s.theta0}, tau=${s.tau}`;
}

/** The spike statistics section: a table per STCB layer and the fire-rate, spike and input figures. */
export function spikeSection(b: MarkdownDoc, stats: readonly LayerSpikeStats[], subtitle: string): void {
  const order = stats.map((s) => s.layer);
  b.push('## Spike statistics', '');
  b.push(
    'Per STCB layer on the evaluation set: input neurons per image, spikes per image (over the whole train), average spike count per neuron (`zeta`, 0..T), firing rate (`zeta / T`), the range of the STEB inputs and the share of them at or above the saturation level `S = sum_t theta(t)` (decoded as `S`; `-` where the run did not record it).',
    '',
  );
  b.push(
    mdTable(
      ['layer', 'neurons', 'spikes / image', 'spikes / neuron', 'fire rate', 'input range', 'saturated'],
      [
        ...stats.map((s) => [
          s.layer,
          readable(s.neurons),
          siCount(s.spikes / Math.max(1, s.samples)),
          s.spikesPerNeuron.toFixed(4),
          s.fireRate.toFixed(4),
          inputRange(s.inputMin, s.inputMax),
          pctOrDash(saturatedFraction(s)),
        ]),
      ],
    ),
    '',
  );
  b.figure(
    perLayerChart({
      name: 'fire-rate',
      caption: 'Average fire rate per STCB layer (spikes per neuron / T; paper Fig. 6).',
      title: 'Fire rate per layer',
      subtitle,
      yTitle: 'fire rate (spikes per neuron / T)',
      layerOrder: order,
      rows: stats.map((s) => ({ layer: s.layer, series: 'run', value: s.fireRate })),
    }),
  );
  b.figure(
    perLayerChart({
      name: 'spikes',
      caption: 'Average number of spikes per image per STCB layer (paper Fig. 7).',
      title: 'Spikes per layer',
      subtitle,
      yTitle: 'spikes per image',
      yFormat: '~s',
      layerOrder: order,
      rows: stats.map((s) => ({ layer: s.layer, series: 'run', value: s.spikes / Math.max(1, s.samples) })),
    }),
  );
  const shown = evenSpread(stats, 6);
  b.figure(
    inputHistogram(
      shown.map((s) => ({
        layer: s.layer,
        min: s.histogram.min,
        max: s.histogram.max,
        counts: s.histogram.counts.slice(1, s.histogram.bins + 1),
        total: s.histogram.counts.reduce((a, c) => a + c, 0),
      })),
      `${subtitle}; ${shown.length} of ${stats.length} layers; inputs outside [${stats[0].histogram.min}, ${stats[0].histogram.max}) not shown`,
    ),
  );
}

function energySection(b: MarkdownDoc, e: EnergyReport, note: string, subtitle: string): void {
  const t = e.total;
  b.push('## Energy', '');
  b.push(
    `Per image, after docs/semantics.md §3: ANN MACs; SNN ACs = MACs x spikes per input neuron; first layer, CAB (T multiply-adds per output), batch norm (${e.constants.bnMacsPerElement} MACs per element), average pooling and the linear head as MACs; E_MAC = ${e.constants.eMac} pJ, E_AC = ${e.constants.eAc} pJ. ${note}`,
    '',
  );
  b.push(
    mdTable(
      ['network', 'MACs', 'ACs', 'FLOPs', 'energy / image'],
      [
        ['ANN twin', siCount(t.annMacs), '0', siCount(t.annFlops), microjoules(t.annEnergyPj)],
        [
          `STCSNN (T=${e.T})`,
          siCount(t.snnMacs),
          siCount(t.snnAcs),
          siCount(t.snnFlops),
          microjoules(t.snnEnergyPj),
        ],
      ],
    ),
    '',
    `**Energy ratio ANN / STCSNN: ${times(t.ratio)}**`,
    '',
  );
  const shown = e.layers.filter((l) => l.annMacs + l.snnMacs + l.snnAcs > 0);
  b.figure(
    perLayerChart({
      name: 'energy-per-layer',
      caption: `Computation energy per image and layer, ANN twin vs STCSNN (E_MAC ${e.constants.eMac} pJ, E_AC ${e.constants.eAc} pJ).${leftOutNote(e.layers, shown)}`,
      title: 'Energy per layer',
      subtitle: `${subtitle}; total ANN ${microjoules(t.annEnergyPj, 3)}, STCSNN ${microjoules(t.snnEnergyPj, 3)} (${times(t.ratio)})`,
      yTitle: 'energy per image (nJ)',
      grouped: true,
      seriesTitle: 'network',
      seriesOrder: ['ANN twin', 'STCSNN'],
      layerOrder: shown.map((l) => l.name),
      rows: shown.flatMap((l) => [
        { layer: l.name, series: 'ANN twin', value: l.annEnergyPj / 1e3 },
        { layer: l.name, series: 'STCSNN', value: l.snnEnergyPj / 1e3 },
      ]),
    }),
  );
  b.push(
    '<details><summary>per layer</summary>',
    '',
    mdTable(
      ['layer', 'kind', 'ANN MACs', 'SNN ACs', 'SNN MACs', 'SNN energy (nJ)'],
      [
        ...e.layers
          .filter((l) => l.annMacs + l.snnMacs + l.snnAcs > 0)
          .map((l) => [
            l.name,
            l.kind,
            siCount(l.annMacs),
            l.kind === 'stcb-conv' ? siCount(l.snnAcs) : '-',
            siCount(l.snnMacs),
            (l.snnEnergyPj / 1e3).toFixed(2),
          ]),
      ],
    ),
    '',
    '</details>',
    '',
  );
}

function energyFromStats(
  run: RunDir,
  stats: readonly LayerSpikeStats[],
  c?: Partial<EnergyConstants>,
): EnergyReport {
  return networkEnergy(specOfRun(run.summary, run.dir), { stats, source: run.dir }, c);
}

/** The energy section, or a note saying why it could not be computed (the rest of the report stands). */
export function tryEnergySection(
  b: MarkdownDoc,
  run: RunDir,
  stats: readonly LayerSpikeStats[],
  opts: EnergyOptions,
  note: string,
  subtitle: string,
): void {
  let e: EnergyReport;
  try {
    e = energyFromStats(run, stats, opts.constants);
  } catch (err) {
    b.push('## Energy', '', `Not computed: ${(err as Error).message.split('\n')[0]}`, '');
    return;
  }
  energySection(b, e, note, subtitle);
}
