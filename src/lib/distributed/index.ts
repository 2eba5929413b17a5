/** Data-parallel training across processes: process groups, the sampler, gradient averaging. */
export * from './process-group.js';
export * from './sampler.js';
export * from './grad-sync.js';
export * from './handshake.js';
export type { GatherOptions, ParallelMode } from './runs.js';
