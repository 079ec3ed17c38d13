import { z } from 'zod';
import { backoffSchema, name, positiveInt } from '../core/config/common.ts';

const entityRule = z
  .union(
    [
      // fallback: the entity of a change whose key has no prefix or whose entity is not declared; without it such changes are dead letters.
      z.strictObject({
        keyPrefix: z.strictObject({
          attribute: z.string().default('PK'),
          separator: z.string().min(1).default('#'),
          fallback: name.optional(),
        }),
      }),
      z.strictObject({ attribute: z.strictObject({ name: z.string(), fallback: z.string().default('item') }) }),
      z.strictObject({ fixed: name }),
    ],
    {
      error:
        'expected one of { keyPrefix: { attribute, separator, fallback? } }, { attribute: { name, fallback } } or { fixed: <entity> }',
    },
  )
  .describe(
    "How a change names its entity: the prefix of a key attribute (`ORDER#1` -> order), an attribute's value, or one fixed entity.",
  );

/** A table-name pattern: `*` stands for any run of characters, `?` for one. */
const tablePattern = z
  .string()
  .regex(/^[A-Za-z0-9_.*?-]{1,255}$/, 'expected a table name pattern: letters, digits, `_ . -`, `*` and `?`');

const tableSchema = z
  .strictObject({
    name: z
      .string()
      .min(3)
      .max(255)
      .optional()
      .describe('The DynamoDB table; left out in a discovery rule (`match` or `tag`).'),
    match: tablePattern
      .optional()
      .describe(
        'Discovery: every table whose name fits this pattern (`orders-*`; `*` any run of characters, `?` one), found at start and every `connector.discovery.intervalMs`.',
      ),
    tag: z
      .strictObject({ key: z.string().min(1), value: z.string() })
      .optional()
      .describe('Discovery: every table carrying this tag (`{ key: cdc, value: on }`).'),
    source: z
      .enum(['dynamodb-streams', 'kinesis'])
      .default('dynamodb-streams')
      .describe("Where the table's changes come from (a discovery rule: dynamodb-streams only)."),
    kinesisStream: z
      .string()
      .optional()
      .describe('Kinesis Data Streams for DynamoDB: the stream the table streams into.'),
    entity: entityRule.default({ keyPrefix: { attribute: 'PK', separator: '#' } }),
    entities: z
      .array(name)
      .default([])
      .describe(
        'The entities this table holds (one topic each under the default template); empty: every entity the views declare.',
      ),
    snapshot: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe('Scan the table once before reading its stream (the initial snapshot).'),
        segments: positiveInt.max(1000).default(4).describe('Parallel scan segments.'),
        readCapacityPerSecond: z
          .number()
          .nonnegative()
          .default(0)
          .describe('Read capacity units a second the scan may use; 0 is no limit.'),
      })
      .default({ enabled: false, segments: 4, readCapacityPerSecond: 0 })
      .describe('The initial snapshot: a parallel scan, checkpointed per segment, before the stream.'),
  })
  .refine((table) => [table.name, table.match, table.tag].filter((key) => key !== undefined).length === 1, {
    message:
      'give exactly one of name (one table), match (tables whose name fits a pattern) or tag (tables carrying { key, value })',
  })
  .superRefine((table, context) => {
    const problem = (key: 'source' | 'kinesisStream', message: string) =>
      context.addIssue({ code: 'custom', path: [key], input: table[key], message });
    if (table.name !== undefined) {
      if (table.source === 'kinesis' && !table.kinesisStream)
        problem('kinesisStream', 'a kinesis source needs kinesisStream');
      return;
    }
    // moto, the emulator every test runs on, has no DescribeKinesisStreamingDestination: a discovered table's
    // Kinesis stream could be neither found nor tested, so rules read DynamoDB Streams only.
    if (table.source === 'kinesis')
      problem(
        'source',
        'a discovery rule (match or tag) reads DynamoDB Streams only: list a table that streams into Kinesis by name, with its kinesisStream',
      );
    if (table.kinesisStream !== undefined)
      problem(
        'kinesisStream',
        "kinesisStream names one table's stream: list that table by name instead of in a discovery rule",
      );
  });

export const connectorConfigSchema = z.strictObject({
  name: name
    .default('shardline')
    .describe(
      'The connector instance: its transactional id and the namespace of its checkpoints; two instances with one name fence each other.',
    ),
  tables: z
    .array(tableSchema)
    .min(1, 'list at least one table or discovery rule')
    .describe('The tables whose changes are captured: each one by name, or by discovery (`match` or `tag`).'),
  discovery: z
    .strictObject({
      intervalMs: positiveInt
        .min(100)
        .default(60_000)
        .describe('How often tables are listed for the discovery rules (and consumer groups look for their topics).'),
    })
    .prefault({})
    .describe('Tables by discovery: `connector.tables` entries with `match` or `tag`.'),
  startPosition: z
    .enum(['trim_horizon', 'latest'])
    .default('trim_horizon')
    .describe('Where a stream without checkpoints starts; `latest` is ignored for a table with a snapshot.'),
  gapPolicy: z
    .enum(['fail', 'resnapshot', 'skip'])
    .default('fail')
    .describe('What a gap (trimmed data, a vanished shard) does: stop, re-scan the table, or log and go on.'),
  topics: z
    .strictObject({
      template: z
        .string()
        .regex(/\{table\}|\{entity\}/, 'the template needs {table} or {entity}')
        .default('shardline.{table}.{entity}')
        .describe('Change topic per table and entity.'),
      checkpoints: name
        .default('shardline.checkpoints')
        .describe('The compacted topic of shard checkpoints (one partition).'),
      deadLetter: name.default('shardline.dlq').describe('Dead-letter topic of the connector and the consumer groups.'),
      retentionMs: z
        .number()
        .int()
        .refine((ms) => ms === -1 || ms > 0, 'use -1 (keep every change) or a positive number of milliseconds')
        .default(-1)
        .describe(
          'How long change topics keep records: -1 (every change, so a new group can replay them) or milliseconds.',
        ),
      compaction: z
        .strictObject({
          deleteRetentionMs: positiveInt
            .default(7 * 86_400_000)
            .describe('How long a REMOVE event (and its tombstone) stays readable.'),
        })
        .optional()
        .describe('Compacted change topics: the newest record per item, REMOVE events kept for deleteRetentionMs.'),
      tombstones: z
        .boolean()
        .default(false)
        .describe(
          'A null-valued record after each REMOVE, so that compaction drops the item once deleteRetentionMs has passed.',
        ),
    })
    .refine((topics) => !topics.tombstones || topics.compaction, {
      message:
        'tombstones only serve compacted topics: set topics.compaction (how long a REMOVE event is kept) or leave tombstones off',
      path: ['tombstones'],
    })
    .refine((topics) => !topics.compaction || topics.retentionMs === -1, {
      message: 'a compacted topic keeps the newest record of every item, so retentionMs does not apply: leave it out',
      path: ['retentionMs'],
    })
    .prefault({}),
  polling: z
    .strictObject({
      idleMinMs: positiveInt.default(250).describe('Wait after an empty read of a shard, doubled per empty read.'),
      idleMaxMs: positiveInt.default(2_000).describe('The longest wait between reads of an idle shard.'),
      recordsPerRead: positiveInt.max(1000).default(1000).describe('Records asked for per GetRecords call.'),
      recordsPerRound: positiveInt
        .default(2000)
        .describe(
          'Pages are read from a shard in a round until this many records are reached; what a round read from all its shards is one Kafka transaction.',
        ),
      discoveryIntervalMs: positiveInt.default(60_000).describe('How often new shards are looked for.'),
    })
    .prefault({}),
  maxMessageBytes: positiveInt
    .default(1_000_000)
    .describe('Larger events go to the dead-letter topic instead of failing the transaction.'),
  dedupeWindow: positiveInt.default(100_000).describe('Kinesis event ids remembered to remove duplicates.'),
  retentionHours: positiveInt.default(24).describe("The stream's retention, for the trim-headroom metric."),
  backoff: backoffSchema.prefault({}),
  scaleOut: z
    .strictObject({
      units: positiveInt
        .max(1000)
        .default(16)
        .describe(
          'Assignment units the shards are hashed to (partitions of the units topic, one transactional id each): the most instances that get work. Every instance must use the same count.',
        ),
      // Kafka refuses sessions shorter than its group.min.session.timeout.ms (6 s by default).
      sessionTimeoutMs: positiveInt
        .min(6_000)
        .max(300_000)
        .default(30_000)
        .describe('An instance that stops heartbeating loses its units to the others after this long.'),
    })
    .optional()
    .describe(
      'Several instances with one connector name share the shards of the configured streams over a Kafka consumer group; left out, one instance reads every shard.',
    ),
});

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type TableConfig = ConnectorConfig['tables'][number];
