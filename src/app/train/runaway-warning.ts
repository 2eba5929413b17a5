/**
 * The runaway monitor's warning (docs/reliability.md, "Saturation runaway"): the one line that
 * `stcsnn train` and `stcsnn eval` print when the rule of `src/lib/train/monitor.ts` says a layer
 * runs away, with the command-line flags that help.
 */
import { monitorNumber as num, RUNAWAY_P999_FACTOR, type Runaway } from '../../lib/train/monitor.js';

/** What a run trains with, for the remedies a warning suggests. */
export interface RunawayRemedies {
  readonly gradient: string;
  readonly learnTheta: string;
}

/**
 * The one-line warning for a runaway (in training epoch `epoch`, 0-based, when given): the layer,
 * its figures, and the flags that help that the run does not use yet: `--gradient clipped` first,
 * then `--learn-theta layer|channel` (with the clipped mask only, which learned thresholds need).
 */
export function runawayWarning(r: Runaway, epoch: number | undefined, run: RunawayRemedies): string {
  const f = r.figures;
  const bn = f.bn
    ? `, ${f.bn.layer} |gamma| mean ${num(f.bn.gamma_abs_mean)}, max ${num(f.bn.gamma_abs_max)}`
    : '';
  // measured (docs/reliability.md): the clipped mask keeps every layer below 3 S where the ReLU mask
  // runs away; learned thresholds need the clipped mask (stcConfig refuses them with the ReLU mask)
  const help =
    run.gradient !== 'clipped'
      ? `try --gradient clipped (no gradient where STEB saturates)${run.learnTheta === 'off' ? ', alone or with --learn-theta layer|channel (thresholds, and with them S, follow the input range)' : ''}`
      : run.learnTheta === 'off'
        ? 'try --learn-theta layer|channel (thresholds, and with them S, follow the input range)'
        : 'the run already uses --gradient clipped and learned thresholds; try a lower --lr';
  return (
    `STCB inputs run away in ${r.layer}${epoch === undefined ? '' : ` (epoch ${epoch + 1})`}: 99.9th percentile ${num(f.input_p999)} = ${num(r.factor)} x S ` +
    `(S = ${num(f.S)}, rule: >= ${RUNAWAY_P999_FACTOR} x S), max ${num(f.input_max)}, ` +
    `${(100 * f.saturated_share).toFixed(1)} % at or above S${bn}; ${help} (docs/reliability.md)`
  );
}
