/**
 * The browser entry (`src/browser.ts`) bundles without any Node module: esbuild bundles it for
 * the browser, recording every `node:` import (kept external) and failing on any bare Node
 * built-in that a package's `browser` field does not map away (`fs: false`). The Node entry
 * (`src/index.ts`), bundled the same way, must show some (the check can fail).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Node modules that a browser bundle of `entry` imports, as `importer -> module`. */
async function nodeImports(entry: string): Promise<string[]> {
  const found: string[] = [];
  const record: esbuild.Plugin = {
    name: 'record-node-imports',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => {
        found.push(`${args.importer.slice(ROOT.length)} -> ${args.path}`);
        return { path: args.path, external: true };
      });
    },
  };
  try {
    await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [record],
      // the Node entry also reaches optional native packages; they are not the point here
      external: ['stcsnn-libtorch', 'onnxruntime-node'],
      loader: { '.node': 'empty', '.wasm': 'empty' },
    });
  } catch (e) {
    // bare built-ins (`fs`, `worker_threads`) that nothing maps away fail to resolve
    for (const err of (e as esbuild.BuildFailure).errors ?? []) {
      const m = /Could not resolve "([^"]+)"/.exec(err.text);
      if (m && builtinModules.includes(m[1])) found.push(`${err.location?.file ?? '?'} -> ${m[1]}`);
      else throw e;
    }
  }
  return found;
}

test('the browser entry imports no Node module', async () => {
  assert.deepEqual(await nodeImports('src/browser.ts'), []);
});

test('the check sees Node modules where there are some (the Node entry)', async () => {
  const found = await nodeImports('src/index.ts');
  assert.ok(
    found.some((f) => f.endsWith('-> node:fs')),
    `expected node:fs among ${found.join(', ')}`,
  );
});
