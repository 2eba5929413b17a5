/**
 * Start-up checks between ranks: every rank must train the same configuration, resume from the
 * same epoch, and so on. Each check publishes a value through the rendezvous store and compares
 * all ranks' values; a mismatch is one line naming the first rank that differs.
 */
import { createHash } from 'node:crypto';
import type { ProcessGroup } from './process-group.js';
import { DistError } from './process-group.js';

/** A hash of `value`'s JSON with object keys sorted (so key order does not matter). */
export function stableHash(value: unknown): string {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(value)) ?? 'undefined')
    .digest('hex')
    .slice(0, 16);
}

/** Calls of {@link agreeOn} per group: store keys are written once, so each call gets its own. */
const calls = new WeakMap<ProcessGroup, number>();

/**
 * Resolves when every rank published the same `value` under `key`; otherwise throws a
 * {@link DistError} `what` (e.g. "configuration"), with rank 0's and the first differing rank's
 * values. `hint` ends the message (what to do). Every rank must make the same calls in the same
 * order.
 */
export async function agreeOn(
  pg: ProcessGroup,
  key: string,
  value: string,
  what: string,
  hint: string,
): Promise<void> {
  if (pg.worldSize === 1) return;
  const n = calls.get(pg) ?? 0;
  calls.set(pg, n + 1);
  const all = await pg.exchange(`${key}#${n}`, value);
  const bad = all.findIndex((v) => v !== all[0]);
  if (bad >= 0)
    throw new DistError(`rank ${bad}'s ${what} (${all[bad]}) differs from rank 0's (${all[0]}); ${hint}`);
}
