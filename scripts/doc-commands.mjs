/* global console, process, URL */
// The command lines the documentation shows: every `stcsnn ...` (also `npx stcsnn ...`,
// `node dist/app/cli/main.js ...`), `npm start` and `npm run ...` in README.md, docs/**/*.md,
// examples/ (README.md, and the comments of its .ts files), bench/README.md and
// packages/libtorch/README.md, from fenced shell blocks (one command per line, `\` continuations
// joined, `# comments`, `$ `, `VAR=value` and a trailing `&` dropped, `&&`/`;`/` | ` chains split)
// and from inline code that starts with one of those commands. scripts/docs-commands.test.mjs
// checks each; `node scripts/doc-commands.mjs` lists them (file:line, then the command).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The files whose command lines are checked, relative to the repository root, sorted. */
export function docFiles(root = ROOT) {
  const walk = (dir, keep) =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const rel = join(dir, name);
      if (name === 'dist' || name === 'node_modules') return [];
      if (statSync(join(root, rel)).isDirectory()) return walk(rel, keep);
      return keep(name) ? [rel] : [];
    });
  const md = (n) => n.endsWith('.md');
  return [
    'README.md',
    ...walk('docs', md).filter((f) => !f.startsWith(join('docs', 'api'))),
    ...walk('examples', (n) => md(n) || n.endsWith('.ts')),
    'bench/README.md',
    'packages/libtorch/README.md',
  ].sort();
}

/** Does `text` start with a command the documentation check covers? */
const COMMAND = /^(npx stcsnn|stcsnn|node dist\/app\/cli\/main\.js|npm start|npm run)(\s|$)/;
export const isCommand = (text) => COMMAND.test(text);

/** Fenced blocks in these languages hold shell command lines (others: code, output, tables). */
const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell', 'console', 'text']);

/** `line` without its `# comment` (a `#` at the start or after a blank, outside quotes). */
function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** The commands of one shell line: split at `&&`, `||`, `;` and ` | `, prompts and variables dropped. */
export function shellCommands(line) {
  return stripComment(line)
    .split(/\s*(?:&&|\|\||;|\s\|\s)\s*/)
    .map((s) =>
      s
        .trim()
        .replace(/^\$\s+/, '')
        .replace(/^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+/, '')
        .replace(/\s+&$/, '')
        .trim(),
    )
    .filter(isCommand);
}

/** The command lines of a Markdown text: `{ line, text, inline }` (`line`: 1-based, of the start). */
export function markdownCommands(source) {
  const lines = source.split('\n');
  const out = [];
  let fence = null; // { marker, shell }
  const prose = []; // the text outside fences, fence lines blanked (line numbers kept)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const open = line.match(/^\s*(`{3,}|~{3,})\s*([\w-]*)/);
    if (fence) {
      prose.push('');
      if (open && open[1].startsWith(fence.marker) && line.trim() === open[1]) {
        fence = null;
        continue;
      }
      if (!fence.shell) continue;
      // a `\` at the end continues the command on the next line
      let logical = line;
      const start = i;
      while (/\\\s*$/.test(stripComment(logical)) && i + 1 < lines.length) {
        logical = stripComment(logical).replace(/\\\s*$/, ' ') + lines[++i].trim();
        prose.push('');
      }
      for (const text of shellCommands(logical)) out.push({ line: start + 1, text, inline: false });
      continue;
    }
    if (open) {
      fence = { marker: open[1], shell: SHELL_LANGS.has(open[2].toLowerCase()) };
      prose.push('');
      continue;
    }
    prose.push(line);
  }
  out.push(...inlineCommands(prose.join('\n')));
  return out.sort((a, b) => a.line - b.line);
}

/** Inline code spans (`x`, ``x``) that start with a command; a span may run over lines. */
export function inlineCommands(text) {
  const out = [];
  const span = /(`+)([^`][\s\S]*?)\1(?!`)/g;
  for (const m of text.matchAll(span)) {
    if (/\n\s*\n/.test(m[2])) continue; // not a span: a paragraph break
    // a leading `VAR=value` (an environment variable for the command) is dropped
    const code = m[2]
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+/, '');
    if (!isCommand(code)) continue;
    out.push({ line: text.slice(0, m.index).split('\n').length, text: code, inline: true });
  }
  return out;
}

/** The command lines in a TypeScript file's comments: usage lines and inline code. */
export function typescriptCommands(source) {
  const out = [];
  source.split('\n').forEach((line, i) => {
    const m = line.match(/^\s*(?:\*|\/\/)\s?(.*)$/);
    if (!m) return;
    const body = m[1];
    if (body.includes('`')) out.push(...inlineCommands(body).map((c) => ({ ...c, line: i + 1 })));
    else for (const text of shellCommands(body)) out.push({ line: i + 1, text, inline: false });
  });
  return out;
}

/** Every documented command line: `{ file, line, text, inline }`, in file and line order. */
export function documentedCommands(root = ROOT) {
  return docFiles(root).flatMap((file) => {
    const source = readFileSync(join(root, file), 'utf8');
    const found = file.endsWith('.ts') ? typescriptCommands(source) : markdownCommands(source);
    return found.map((c) => ({ file, ...c }));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { scriptArgs } = await import('./script-cli.mjs');
  scriptArgs(import.meta.url, {
    usage: `Usage: node scripts/doc-commands.mjs

Lists the command lines of the documentation that scripts/docs-commands.test.mjs checks:
file:line, then the command as written.`,
  });
  const all = documentedCommands();
  for (const c of all) console.log(`${relative(ROOT, join(ROOT, c.file))}:${c.line}\t${c.text}`);
  console.log(`${all.length} command lines in ${new Set(all.map((c) => c.file)).size} files`);
}
