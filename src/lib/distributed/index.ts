/** Data-parallel training across processes: process groups, gradient averaging; and, re-exported, data's sharded sampler. */
export * from './process-group.js';
export * from '../data/sampler.js';
export * from './grad-sync.js';
export * from './handshake.js';
export type { GatherOptions, ParallelMode } from './runs.js';
