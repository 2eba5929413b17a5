/**
 * Analysis that needs no Node: operation counts and energy of an STCSNN against its ANN twin,
 * and the runaway monitor's figures as a table. Both entries (`src/index.ts`, `src/browser.ts`)
 * export this list; the analysis of run directories and reports is the application's
 * (`src/app/analysis/`).
 */
export {
  computeEnergy,
  convMacs,
  DEFAULT_ENERGY,
  energyToJson,
  uniformSpikes,
  type EnergyConstants,
  type EnergyJson,
  type EnergyReport,
  type EnergyTotals,
  type LayerEnergy,
} from './energy.js';
export { stcbTable, type StcbRowFigures } from './stcb-rows.js';
