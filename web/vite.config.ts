/**
 * The playground's build: `npm run demo` serves it, `npm run demo:build` writes static files to
 * web/dist (relative URLs, so the folder can be hosted anywhere or opened from a static server).
 * The page imports the library's browser entry from source (src/browser.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  // the tfjs wasm files and the embedded data are imported with ?url and emitted as they are
  assetsInclude: ['**/*.gz', '**/*.safetensors'],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    assetsInlineLimit: 0,
  },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
});
