import { z } from 'zod';
import { connectorConfigSchema } from '../../connector/config.ts';
import { auditConfigSchema } from '../../consumers/audit/config.ts';
import { rollupsConfigSchema } from '../../consumers/rollups/config.ts';
import { cacheConfigSchema } from '../../consumers/cache/config.ts';
import { searchConfigSchema } from '../../consumers/search/config.ts';
import { defaultOrderView } from '../../consumers/rollups/definition.ts';
import { hostPort, httpUrl, name, positiveInt, secret } from './common.ts';

const fieldSchema = z.strictObject({
  attribute: z.string().min(1),
  type: z.enum(['string', 'decimal', 'integer', 'timestamp', 'boolean']),
  scale: z.number().int().min(0).max(36, 'expected at most 36 decimal places (a Decimal(38, scale) column keeps 38 - scale integer digits; at least 2 are needed)').optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
});

const tls = z.union([z.boolean(), z.strictObject({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })]);

export const configSchema = z.strictObject({
  aws: z.strictObject({
    region: z.string().min(1).default('us-east-1'),
    /** An emulator or VPC endpoint; leave out for AWS. */
    endpoint: httpUrl.optional(),
    /** Static credentials; leave out to use the AWS SDK's default chain (environment, profile, role). */
    credentials: z.strictObject({ accessKeyId: secret, secretAccessKey: secret, sessionToken: z.string().optional() }).optional(),
  }).prefault({}),
  kafka: z.strictObject({
    brokers: z.array(hostPort).min(1, 'list at least one broker'),
    clientId: name.default('shardline'),
    ssl: tls.optional(),
    sasl: z.strictObject({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string(), password: secret }).optional(),
    partitions: positiveInt.default(3),
  }),
  registry: z.strictObject({
    url: httpUrl,
    username: z.string().optional(),
    password: z.string().optional(),
    compatibility: z.enum(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE']).default('BACKWARD'),
  }),
  clickhouse: z.strictObject({
    /** A ClickHouse server; without it ClickHouse runs embedded in the consumer process. */
    url: httpUrl.optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    database: z.string().optional(),
    /** The embedded engine's data directory. */
    path: z.string().default('.shardline/clickhouse'),
  }).prefault({}),
  connector: connectorConfigSchema,
  /** Typed views of entities, used by rollups and search documents. */
  entities: z.record(name, z.strictObject({ fields: z.record(name, fieldSchema) })).default({ order: { fields: defaultOrderView } }),
  consumers: z.strictObject({
    batchSize: positiveInt.default(500),
    sessionTimeoutMs: positiveInt.default(30_000),
    rollups: rollupsConfigSchema.prefault({}),
    audit: auditConfigSchema.prefault({}),
    search: searchConfigSchema.prefault({}),
    cache: cacheConfigSchema.prefault({}),
  }).prefault({}),
  http: z.strictObject({
    /** Metrics (/metrics), health (/health, /ready) and, for embedded ClickHouse, queries (/query). */
    port: z.number().int().min(0).max(65535).default(9464),
    host: z.string().default('127.0.0.1'),
    /** A part whose work keeps failing (a store or broker down) this long reports not ready on /ready. */
    stuckAfterSeconds: positiveInt.default(60),
  }).prefault({}),
});

export type ShardlineConfig = z.infer<typeof configSchema>;
export type ShardlineConfigInput = z.input<typeof configSchema>;
