/**
 * The code version of this build, as `scripts/build-info.mjs` wrote it into
 * `dist/build-info.json` at build time: package version, git commit, whether the code's files
 * differed from that commit, and a hash of the compiled files (`dist_sha256`), which tells two
 * builds apart even where git cannot (a modified tree, an installed package).
 */
import { readFileSync } from 'node:fs';

/** A build's code version. */
export interface BuildInfo {
  /** The package's version (package.json). */
  readonly version: string;
  /** The git commit built from; null outside a git checkout. */
  readonly commit: string | null;
  /** Whether the code's files differed from `commit` at build time; null outside git. */
  readonly modified: boolean | null;
  /** `sha256:<hex>` of every compiled file; null when the build did not record it. */
  readonly dist_sha256: string | null;
}

let cached: BuildInfo | undefined;

/** This build's code version; every field null (version `unknown`) when the file is missing. */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  try {
    const raw = JSON.parse(
      readFileSync(new URL('../../build-info.json', import.meta.url), 'utf8'),
    ) as Partial<BuildInfo>;
    cached = {
      version: typeof raw.version === 'string' ? raw.version : 'unknown',
      commit: typeof raw.commit === 'string' ? raw.commit : null,
      modified: typeof raw.modified === 'boolean' ? raw.modified : null,
      dist_sha256: typeof raw.dist_sha256 === 'string' ? raw.dist_sha256 : null,
    };
  } catch {
    cached = { version: 'unknown', commit: null, modified: null, dist_sha256: null };
  }
  return cached;
}
