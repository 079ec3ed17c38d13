import { z } from 'zod';
import { backoffSchema, name, positiveInt } from '../core/config/common.ts';

const entityRule = z.union([
  // fallback: the entity of a change whose key has no prefix or whose entity is not declared; without it such changes are dead letters.
  z.strictObject({ keyPrefix: z.strictObject({ attribute: z.string().default('PK'), separator: z.string().min(1).default('#'), fallback: name.optional() }) }),
  z.strictObject({ attribute: z.strictObject({ name: z.string(), fallback: z.string().default('item') }) }),
  z.strictObject({ fixed: name }),
], { error: 'expected one of { keyPrefix: { attribute, separator, fallback? } }, { attribute: { name, fallback } } or { fixed: <entity> }' });

const tableSchema = z.strictObject({
  name: z.string().min(3).max(255),
  /** Where the table's changes come from. */
  source: z.enum(['dynamodb-streams', 'kinesis']).default('dynamodb-streams'),
  /** Kinesis Data Streams for DynamoDB: the stream the table streams into. */
  kinesisStream: z.string().optional(),
  entity: entityRule.default({ keyPrefix: { attribute: 'PK', separator: '#' } }),
  /** The entities this table holds: one topic each under the default template. */
  entities: z.array(name).default([]),
  snapshot: z.strictObject({
    enabled: z.boolean().default(false),
    segments: positiveInt.max(1000).default(4),
    readCapacityPerSecond: z.number().nonnegative().default(0),
  }).default({ enabled: false, segments: 4, readCapacityPerSecond: 0 }),
}).refine((table) => table.source !== 'kinesis' || table.kinesisStream, { message: 'a kinesis source needs kinesisStream', path: ['kinesisStream'] });

export const connectorConfigSchema = z.strictObject({
  name: name.default('shardline'),
  tables: z.array(tableSchema).min(1, 'list at least one table'),
  startPosition: z.enum(['trim_horizon', 'latest']).default('trim_horizon'),
  gapPolicy: z.enum(['fail', 'resnapshot', 'skip']).default('fail'),
  topics: z.strictObject({
    template: z.string().regex(/\{table\}|\{entity\}/, 'the template needs {table} or {entity}').default('shardline.{table}.{entity}'),
    checkpoints: name.default('shardline.checkpoints'),
    deadLetter: name.default('shardline.dlq'),
    /** How long change topics keep records: -1 (everything, the default) or milliseconds. */
    retentionMs: z.number().int().refine((ms) => ms === -1 || ms > 0, 'use -1 (keep every change) or a positive number of milliseconds').default(-1),
    /** Compacted change topics: the newest record per item, and REMOVE events kept for deleteRetentionMs. */
    compaction: z.strictObject({ deleteRetentionMs: positiveInt.default(7 * 86_400_000) }).optional(),
    /** A null-valued record after each REMOVE, so that compaction drops the item once deleteRetentionMs has passed. */
    tombstones: z.boolean().default(false),
  }).refine((topics) => !topics.tombstones || topics.compaction, {
    message: 'tombstones only serve compacted topics: set topics.compaction (how long a REMOVE event is kept) or leave tombstones off',
    path: ['tombstones'],
  }).refine((topics) => !topics.compaction || topics.retentionMs === -1, {
    message: 'a compacted topic keeps the newest record of every item, so retentionMs does not apply: leave it out',
    path: ['retentionMs'],
  }).prefault({}),
  polling: z.strictObject({
    idleMinMs: positiveInt.default(250),
    idleMaxMs: positiveInt.default(2_000),
    recordsPerRead: positiveInt.max(1000).default(1000),
    recordsPerRound: positiveInt.default(5000),
    discoveryIntervalMs: positiveInt.default(60_000),
  }).prefault({}),
  maxMessageBytes: positiveInt.default(1_000_000),
  dedupeWindow: positiveInt.default(100_000),
  retentionHours: positiveInt.default(24),
  backoff: backoffSchema.prefault({}),
});

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type TableConfig = ConnectorConfig['tables'][number];
