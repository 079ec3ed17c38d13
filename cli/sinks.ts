import { audit } from '../consumers/audit/index.ts';
import { cache } from '../consumers/cache/index.ts';
import { rollups } from '../consumers/rollups/index.ts';
import { search } from '../consumers/search/index.ts';

/** Every sink Shardline runs as a consumer group: the config, the help, `status` and the pipeline follow this list. */
export const SINKS = [rollups, audit, search, cache] as const;

export type SinkName = (typeof SINKS)[number]['name'];
export const SINK_NAMES: readonly SinkName[] = SINKS.map((sink) => sink.name);
