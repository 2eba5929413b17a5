/**
 * What a run was made with, recorded so that its figures can be traced and its twin checked:
 * the code version (`lib/util/build-info.ts`), the machine (processor, cores, backend and its
 * threads) and the data it read (`lib/data/fingerprint.ts`). The trainer writes it into
 * `config.json` when a run starts (`provenance`) and into `result.json` when it finishes (the
 * finishing invocation's, with `changed_since_start` naming what a resume changed); the reports
 * and `--ann-from` read it back.
 */
import { availableParallelism, cpus, platform, arch as osArch } from 'node:os';
import { z } from 'zod';
import type { DataFingerprint } from '../../lib/data/fingerprint.js';
import { buildInfo, type BuildInfo } from '../../lib/util/build-info.js';

/** The code version as recorded (see `BuildInfo`). */
export const codeVersionSchema = z.object({
  version: z.string(),
  commit: z.string().nullable(),
  modified: z.boolean().nullable(),
  dist_sha256: z.string().nullable(),
}) satisfies z.ZodType<BuildInfo, unknown>;

/** The machine a run trained on. */
export const machineSchema = z.object({
  /** The processor's model name (`os.cpus()[0].model`). */
  cpu: z.string(),
  /** Logical cores. */
  cores: z.number(),
  /** `linux-x64`, ... */
  platform: z.string(),
  /** Node's version. */
  node: z.string(),
  /** The tensor backend that trained it (`libtorch`, `wasm`, `cpu`). */
  backend: z.string(),
  /** The native backend's threads; null for the others. */
  threads: z.number().nullable(),
  /** The arithmetic precision (`fp32`, `bf16`); runs from before it was recorded trained in fp32. */
  precision: z.string().default('fp32'),
});

/** The data a run read (see `DataFingerprint`). */
export const dataFingerprintSchema = z.object({
  source: z.string(),
  files: z.number(),
  bytes: z.number(),
  files_sha256: z.string().nullable(),
  train_samples: z.number(),
  test_samples: z.number(),
  labels_sha256: z.string(),
}) satisfies z.ZodType<DataFingerprint, unknown>;

/** A run's provenance. */
export const provenanceSchema = z.object({
  code: codeVersionSchema,
  machine: machineSchema,
  data: dataFingerprintSchema,
  /** When this invocation started (ISO 8601). */
  started_at: z.string(),
  /** In `result.json`: the fields (`code`, `machine.cpu`, `data`, ...) that differ from `config.json`'s. */
  changed_since_start: z.array(z.string()).optional(),
});

/** A run's provenance (see {@link provenanceSchema}). */
export type Provenance = z.output<typeof provenanceSchema>;
/** The machine part of a {@link Provenance}. */
export type Machine = z.output<typeof machineSchema>;

/** This machine with `backend` (and its `threads`), computing in `precision`. */
export function currentMachine(
  backend: string,
  threads: number | undefined,
  precision: string = 'fp32',
): Machine {
  return {
    cpu: cpus()[0]?.model?.trim() || 'unknown',
    cores: availableParallelism(),
    platform: `${platform()}-${osArch()}`,
    node: process.version,
    backend,
    threads: threads ?? null,
    precision,
  };
}

/** The provenance of an invocation now: this build, this machine, `data`. */
export function currentProvenance(
  backend: string,
  threads: number | undefined,
  data: DataFingerprint,
  precision: string = 'fp32',
): Provenance {
  return {
    code: buildInfo(),
    machine: currentMachine(backend, threads, precision),
    data,
    started_at: new Date().toISOString(),
  };
}

/**
 * The fields that differ between two provenances (`code`, `machine.<field>`, `data`), in that
 * order; `started_at` is not compared.
 */
export function provenanceChanges(a: Provenance, b: Provenance): string[] {
  const out: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.code, b.code)) out.push('code');
  for (const k of Object.keys(a.machine) as (keyof Machine)[])
    if (!same(a.machine[k], b.machine[k])) out.push(`machine.${k}`);
  if (!same(a.data, b.data)) out.push('data');
  return out;
}

/** The `provenance` of a parsed `config.json` or `result.json`; undefined where absent or malformed. */
export function provenanceOf(file: Readonly<Record<string, unknown>>): Provenance | undefined {
  const r = provenanceSchema.safeParse(file.provenance);
  return r.success ? r.data : undefined;
}
