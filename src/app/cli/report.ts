/** `stcsnn report DIR`: `report.md` and figures for a run, a repeat group or a sweep directory. */
import { relative, resolve } from 'node:path';
import { Command } from 'commander';
import { writeReport } from '../analysis/report.js';
import { dirKind } from '../rundir/dirs.js';
import { assertWritable } from '../../lib/util/fs.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { notice, printJson } from './output.js';
import { energyConstantsFrom, withEnergyOptions, type EnergyFlags } from './options.js';

interface ReportFlags extends CommonFlags, EnergyFlags {
  png: boolean;
}

export function reportCommand(): Command {
  const cmd = new Command('report')
    .description('write report.md and figures (SVG, PNG) for a run, a repeat group or a sweep directory')
    .argument(
      '<dir>',
      'a run directory, a repeat group (repeats.json, seed-<n>/) or a sweep directory (sweep.json)',
    )
    .option('--no-png', 'write SVG figures only');
  withEnergyOptions(cmd, ' (runs)');
  withCommon(cmd);
  cmd.action(async (dirArg: string, flags: ReportFlags) => {
    const dir = resolve(dirArg);
    const constants = energyConstantsFrom(flags);
    const kind = dirKind(dir);
    assertWritable(dir, 'report folder'); // report.md and figures/ go there
    // runs need the network's layer description for energy, which needs a backend
    if (kind !== 'sweep') await backendFor(flags);
    const r = await writeReport(dir, { png: flags.png, constants });
    if (r.missing.length) {
      const what = kind === 'sweep' ? 'sweep points' : kind === 'repeats' ? 'seeds' : 'run';
      notice(
        `unfinished ${what}: ${r.missing.map((m) => (kind === 'sweep' ? m : relative(process.cwd(), m) || '.')).join(', ')}`,
      );
    }
    if (flags.json) {
      printJson({
        kind: r.kind,
        report: r.report,
        figures: r.figures.map((f) => ({ name: f.name, svg: f.svg, png: f.png })),
        missing: r.missing,
      });
      return;
    }
    console.log(`${kind} report: ${r.report}`);
    for (const f of r.figures) console.log(`  ${f.name}: ${f.svg}${f.png ? `, ${f.png}` : ''}`);
    if (flags.png && r.figures.length && r.figures.every((f) => !f.png))
      notice('PNG rendering is unavailable here (@resvg/resvg-js did not load); wrote SVG only');
  });
  return cmd;
}
