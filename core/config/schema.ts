import { z } from 'zod';
import { hostPort, httpUrl, name, positiveInt, secret } from './common.ts';

/** The config sections of core's own clients: AWS, Kafka, the schema registry, ClickHouse and the HTTP endpoint. */

const tls = z.union([
  z.boolean(),
  z.strictObject({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
  }),
]);

export const awsConfigSchema = z
  .strictObject({
    region: z.string().min(1).default('us-east-1'),
    endpoint: httpUrl.optional().describe('An emulator or VPC endpoint (`SHARDLINE_AWS_ENDPOINT`); leave out for AWS.'),
    credentials: z
      .strictObject({ accessKeyId: secret, secretAccessKey: secret, sessionToken: z.string().optional() })
      .optional()
      .describe("Static credentials; leave out to use the AWS SDK's default chain (environment, profile, role)."),
  })
  .prefault({});

export const kafkaConfigSchema = z.strictObject({
  brokers: z
    .array(hostPort)
    .min(1, 'list at least one broker')
    .describe('`host:port` list (`SHARDLINE_KAFKA_BROKERS`, comma separated).'),
  clientId: name.default('shardline'),
  ssl: tls.optional().describe('`true` or `{ ca, cert, key, rejectUnauthorized }`.'),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string(),
      password: secret,
    })
    .optional(),
  partitions: positiveInt.default(3).describe('Partitions of the topics Shardline creates.'),
});

export const registryConfigSchema = z.strictObject({
  url: httpUrl.describe('Confluent-compatible API (`SHARDLINE_REGISTRY_URL`).'),
  username: z.string().optional().describe('Basic auth.'),
  password: z.string().optional(),
  compatibility: z
    .enum(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'])
    .default('BACKWARD')
    .describe('The compatibility level the connector sets on each subject it writes.'),
});

export const clickhouseConfigSchema = z
  .strictObject({
    url: httpUrl
      .optional()
      .describe(
        'A ClickHouse server (`SHARDLINE_CLICKHOUSE_URL`); without it ClickHouse runs embedded (chDB) in the consumer process.',
      ),
    username: z.string().optional(),
    password: z.string().optional(),
    database: z.string().optional(),
    path: z.string().default('.shardline/clickhouse').describe("The embedded engine's data directory."),
  })
  .prefault({});

export const httpConfigSchema = z
  .strictObject({
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(9464)
      .describe('Metrics (/metrics), health (/health, /ready) and, for embedded ClickHouse, queries (/query).'),
    host: z.string().default('127.0.0.1'),
    stuckAfterSeconds: positiveInt
      .default(60)
      .describe(
        'A part whose work keeps failing (a store or broker down, or a round that hangs) this long reports not ready on /ready.',
      ),
  })
  .prefault({});
