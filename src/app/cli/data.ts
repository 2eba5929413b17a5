/**
 * `stcsnn data`: inspect, verify and fetch data sets.
 *
 * - `data info --dataset NAME [--data-dir DIR] [--subset] [--json]`: counts, classes, shape and source;
 *   `--json` prints `{"dataset","train":N,"test":N,"classes":K,"shape":[C,H,W],"source":"...",
 *   "checksum_ok":true|false|null}` (null when no checksums are known for the source).
 * - `data verify --dataset NAME [--data-dir DIR] [--subset] [--json]`: reads every record of both splits;
 *   exit 2 on the first problem (named in one line).
 * - `data fetch fashion-mnist [--data-dir DIR]`: downloads the official files (HTTPS, MD5
 *   checked, written atomically); offline, says how to get them instead (exit 2).
 */
import { Command } from 'commander';
import { defaultFashionMnistDownloadDir, fetchFashionMnist } from '../../lib/data/readers/fashion-mnist.js';
import { datasetInfo, DEFAULT_DATASET, openDataset, registeredNames } from '../../lib/data/registry.js';
import { verifyDataset, type VerifyReport } from '../../lib/data/readers/index.js';
import { DataError } from '../../lib/data/types.js';
import { UsageError } from './errors.js';
import { CONFIG_FLAGS, givenValues, optionOf, type ConfigFlag } from './flags.js';
import { makeProgress, notice, printJson, table } from './output.js';

interface DataFlags {
  dataset: string;
  dataDir?: string;
  subset?: boolean;
  json?: boolean;
  debug?: boolean;
}

/** The `data info` result (also its `--json` output). */
export interface DataInfoResult {
  dataset: string;
  train: number;
  test: number;
  classes: number;
  /** `[C, H, W]`. */
  shape: [number, number, number];
  source: string;
  checksum_ok: boolean | null;
}

/** The `data verify` result (also its `--json` output). */
export interface DataVerifyResult {
  dataset: string;
  ok: boolean;
  /** The first problem, when `ok` is false. */
  problem?: string;
  train?: VerifyReport;
  test?: VerifyReport;
}

function datasetName(raw: string): string {
  try {
    datasetInfo(raw);
  } catch {
    throw new UsageError(`--dataset must be one of ${registeredNames().join(', ')}; got '${raw}'`);
  }
  return raw;
}

/**
 * Gathers `data info` for a data set (opens both splits); `subset` accepts fewer files or
 * images than the official counts (the readers' `strict: false`, `--subset`).
 */
export async function dataInfo(name: string, dataDir?: string, subset = false): Promise<DataInfoResult> {
  const entry = datasetInfo(name);
  const strict = subset ? { strict: false } : {};
  const train = await openDataset(name, { split: 'train', dataDir, ...strict });
  const test = await openDataset(name, { split: 'test', dataDir, ...strict });
  const [h, w, c] = train.shape;
  return {
    dataset: name,
    train: train.count,
    test: test.count,
    classes: train.classes,
    shape: [c, h, w],
    source: train.source,
    checksum_ok: entry.checksum ? entry.checksum(dataDir) : null,
  };
}

/** `--subset`, as `train` has it (the same table entry: help, the data sets it applies to). */
const SUBSET_FLAG = CONFIG_FLAGS.find((f) => f.path === 'datasetOptions.strict') as ConfigFlag;

/**
 * Whether `--subset` was given, checked against the data set as `train` checks it.
 * @throws UsageError for a data set without a strict reader
 */
function subsetOf(flags: DataFlags, dataset: string): boolean {
  return givenValues({ dataset, subset: flags.subset })['datasetOptions.strict'] === false;
}

function withDataOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', `data set: ${registeredNames().join(', ')}`, DEFAULT_DATASET)
    .option('--data-dir <dir>', 'directory holding the data files')
    .addOption(optionOf(SUBSET_FLAG))
    .option('--json', 'print one JSON object on stdout instead of text')
    .option('--debug', 'print stack traces on errors');
}

function infoCommand(): Command {
  const cmd = new Command('info').description('show counts, classes, shape and source of a data set');
  withDataOptions(cmd);
  cmd.action(async (flags: DataFlags) => {
    const name = datasetName(flags.dataset);
    const r = await dataInfo(name, flags.dataDir, subsetOf(flags, name));
    if (flags.json) {
      printJson(r);
      return;
    }
    const entry = datasetInfo(r.dataset);
    const ck = r.checksum_ok === null ? 'not checked' : r.checksum_ok ? 'ok' : 'MISMATCH';
    console.log(
      table([
        ['dataset', r.dataset],
        ['train', String(r.train)],
        ['test', String(r.test)],
        ['classes', String(r.classes)],
        ['shape [C,H,W]', r.shape.join('x')],
        ['source', r.source],
        ['checksums', ck],
        [
          'normalisation',
          `x/${entry.normalization.scale}, mean ${entry.normalization.mean.join(',')}, std ${entry.normalization.std.join(',')}`,
        ],
        [
          'augmentation',
          entry.augment ? `crop pad ${entry.augment.crop}, flip ${entry.augment.flip}` : 'none',
        ],
        ['theta0', String(entry.theta0)],
      ]),
    );
  });
  return cmd;
}

function verifyCommand(): Command {
  const cmd = new Command('verify').description(
    'read every record of both splits and report the first problem',
  );
  withDataOptions(cmd);
  cmd.action(async (flags: DataFlags) => {
    const name = datasetName(flags.dataset);
    const result: DataVerifyResult = { dataset: name, ok: true };
    const progress = makeProgress({ quiet: flags.json });
    try {
      for (const split of ['train', 'test'] as const) {
        const strict = subsetOf(flags, name) ? { strict: false } : {};
        const ds = await openDataset(name, { split, dataDir: flags.dataDir, ...strict });
        progress.start(ds.count, `verify ${name} ${split}`);
        // the bar moves every 1000 samples and at the end
        result[split] = await verifyDataset(ds, (d, total) => {
          if (d % 1000 === 0 || d === total) progress.update(d);
        });
        progress.stop();
      }
    } catch (e) {
      progress.stop();
      if (!(e instanceof DataError)) throw e;
      result.ok = false;
      result.problem = e.message;
      if (flags.json) printJson(result);
      throw e;
    }
    if (flags.json) {
      printJson(result);
      return;
    }
    for (const split of ['train', 'test'] as const) {
      const s = result[split]!;
      console.log(
        `${split}: ${s.count} samples ok, values ${s.min}..${s.max}, per class ${s.perClass.join(' ')}`,
      );
    }
  });
  return cmd;
}

function fetchCommand(): Command {
  const cmd = new Command('fetch')
    .description('download a data set (fashion-mnist) from its official site, MD5-checked')
    .argument('<dataset>', 'data set to download: fashion-mnist')
    .option('--data-dir <dir>', `target directory (default ${defaultFashionMnistDownloadDir()})`)
    .option('--json', 'print one JSON object on stdout instead of text')
    .option('--debug', 'print stack traces on errors');
  cmd.action(async (dataset: string, flags: { dataDir?: string; json?: boolean }) => {
    if (dataset !== 'fashion-mnist')
      throw new UsageError(
        `data fetch: only fashion-mnist can be downloaded; got '${dataset}' (the others need their files by hand; see --help)`,
      );
    const dir = flags.dataDir ?? defaultFashionMnistDownloadDir();
    const files = await fetchFashionMnist(dir, {
      onFile: flags.json ? undefined : (name, url) => notice(`downloading ${name}.gz from ${url}`),
    });
    if (flags.json) {
      printJson({ dataset, dir, files });
      return;
    }
    for (const f of files)
      console.log(
        `${f.status === 'present' ? 'present   ' : 'downloaded'} ${f.file} (${f.bytes} bytes, MD5 ok)`,
      );
    console.log(`Fashion-MNIST is in ${dir}`);
  });
  return cmd;
}

/** The `data` command with its subcommands. */
export function dataCommand(): Command {
  const cmd = new Command('data').description('inspect, verify and download data sets');
  for (const sub of [infoCommand(), verifyCommand(), fetchCommand()]) {
    sub.exitOverride();
    cmd.addCommand(sub);
  }
  cmd.exitOverride();
  return cmd;
}
