/**
 * An addon that cannot load against the torch installed now, where that torch's version differs
 * from the one it was built against (build/Release/libtorch.json), is one line naming both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const nativeJs = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'native.js')).href;

test('an addon built against torch 2.10.0 where 2.11.0 is installed: both versions, one line', () => {
  const root = mkdtempSync(join(tmpdir(), 'stcsnn-mismatch-'));
  try {
    const torch = join(root, 'torch');
    const vh = join(torch, 'include', 'torch', 'csrc', 'api', 'include', 'torch');
    mkdirSync(vh, { recursive: true });
    writeFileSync(join(vh, 'version.h'), '#define TORCH_VERSION \\\n  "2.11.0"\n');
    const rel = join(root, 'Release');
    mkdirSync(rel);
    writeFileSync(join(rel, 'stcsnn_libtorch.node'), 'not a shared object');
    writeFileSync(
      join(rel, 'libtorch.json'),
      JSON.stringify({ version: '2.10.0', libdir: join(torch, 'lib'), include: [join(torch, 'include')] }),
    );
    const code = `import(${JSON.stringify(nativeJs)}).then((m) => { try { m.loadAddon(); } catch (e) { process.stdout.write(e.message); } })`;
    const out = execFileSync(process.execPath, ['-e', code], {
      encoding: 'utf8',
      env: { ...process.env, STCSNN_LIBTORCH_ADDON: join(rel, 'stcsnn_libtorch.node') },
    });
    assert.match(
      out,
      /^stcsnn-libtorch was built against torch 2\.10\.0 but torch 2\.11\.0 is installed at /,
    );
    assert.match(out, /rebuild with `npm run build -w stcsnn-libtorch`$/);
    assert.ok(!out.includes('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
