/** shellQuote: the word a POSIX shell reads back is the string quoted (property, through sh). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { shellQuote } from './train.js';

test('shellQuote: sh reads back the quoted string as one word, quotes and spaces included', () => {
  const words = fc.string({ unit: fc.constantFrom('a', '/', ' ', "'", '"', '$', '\\', '*', '-', '`', 'é') });
  const samples = fc.sample(
    words.filter((s) => s.length > 0),
    { numRuns: 40, seed: 7 },
  );
  for (const s of [...samples, "it's", 'a b', "''"]) {
    const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
    assert.equal(out, s, JSON.stringify(s));
  }
  assert.equal(shellQuote('run/dir-1'), 'run/dir-1', 'a plain word stays unquoted');
});
