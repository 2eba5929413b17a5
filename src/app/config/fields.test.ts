import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { THRESHOLD_SCHEDULES } from '../../lib/core/config.js';
import { CIFAR100_LABELS } from '../../lib/data/readers/index.js';
import { DATASET_NAMES } from '../../lib/data/registry.js';
import {
  datasetOptionsSchema,
  flattenConfig,
  runOptionsSchema,
  TRAIN_DEFAULTS,
  trainConfigSchema,
} from './config.js';
import {
  FIELD_FLAGS,
  FIELD_PATHS,
  fieldChoices,
  fieldRange,
  fieldSchema,
  UNFLAGGED,
  type FieldPath,
} from './fields.js';

/**
 * The leaf fields of `schema` by dotted path, read from the schema itself: blocks (`stc`, behind
 * its prefault and transform) descended into; an open record (`datasetOptions`) by the options
 * the application knows.
 */
function leaves(schema: z.ZodObject, prefix = ''): string[] {
  return Object.entries(schema.shape as Record<string, z.core.$ZodType>).flatMap(([k, s]) => {
    let t = s;
    for (;;) {
      const def = t._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      if (def.innerType) t = def.innerType;
      else if (def.type === 'pipe' && def.in) t = def.in;
      else break;
    }
    if (t._zod.def.type === 'object') return leaves(t as z.ZodObject, `${prefix}${k}.`);
    if (t._zod.def.type === 'record') return leaves(datasetOptionsSchema, `${prefix}${k}.`);
    return [`${prefix}${k}`];
  });
}

test('every schema field, nested ones included, has a flag or is on the list of fields without one', () => {
  const fields = [...leaves(trainConfigSchema), ...leaves(runOptionsSchema)];
  assert.ok(
    fields.includes('stc.T') && fields.includes('datasetOptions.frames') && fields.includes('repeats'),
  );
  for (const p of Object.keys(flattenConfig(TRAIN_DEFAULTS))) assert.ok(fields.includes(p), p);
  assert.deepEqual([...FIELD_PATHS].sort(), [...fields].sort());
  for (const p of fields) {
    const flagged = Object.hasOwn(FIELD_FLAGS, p);
    const unflagged = Object.hasOwn(UNFLAGGED, p);
    assert.ok(flagged !== unflagged, `${p}: a flag or a reason for none, not both`);
  }
  for (const p of [...Object.keys(FIELD_FLAGS), ...Object.keys(UNFLAGGED)])
    assert.ok(fields.includes(p), `${p} is a schema field`);
  for (const reason of Object.values(UNFLAGGED)) assert.ok(reason.length > 10);
  const flags = Object.values(FIELD_FLAGS).map((f) => f.flag);
  assert.equal(new Set(flags).size, flags.length, 'flags are distinct');
});

test('ranges and choices are read from the schema, and no help text repeats them', () => {
  assert.equal(fieldRange('stc.T'), 'an integer in 1..64');
  assert.equal(fieldRange('width'), 'in (0, 4]');
  assert.equal(fieldRange('datasetOptions.frames'), 'an integer in 1..64');
  assert.equal(fieldRange('datasetOptions.testFraction'), 'in (0, 1)');
  assert.equal(fieldRange('repeats'), 'an integer >= 1');
  assert.deepEqual(fieldChoices('stc.schedule'), THRESHOLD_SCHEDULES);
  assert.deepEqual(fieldChoices('datasetOptions.labels'), CIFAR100_LABELS);
  assert.deepEqual(fieldChoices('datasetOptions.channels'), [1, 3]);
  assert.deepEqual(fieldChoices('dataset'), DATASET_NAMES);
  for (const [p, f] of Object.entries(FIELD_FLAGS)) {
    const range = fieldRange(p as FieldPath);
    if (range !== undefined) assert.ok(!f.help.includes(range.replace(/^an integer in /, '')), p);
    assert.doesNotMatch(f.help, /\d\.\.\d|\bin [([]\d|choices/, p);
    // a switch is a boolean field's flag, and only a boolean field's
    assert.equal(f.arg === undefined, fieldSchema(p as FieldPath)._zod.def.type === 'boolean', p);
  }
});
