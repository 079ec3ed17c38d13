import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOrdersTable } from '../../cli/demo/workload.ts';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { Kafka } from 'kafkajs';
import { createDynamoDb, createDynamoDbStreams, emulatorCredentials } from '../../core/aws.ts';
import { createKafka } from '../../core/kafka.ts';
import { logger } from '../../core/logger.ts';
import { Connector, type ConnectorOptions } from '../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../connector/dynamodb/streams-source.ts';
import { streamArnOf } from '../../connector/dynamodb/table.ts';
import { ChangeEventCodec } from '../../schemas/registry.ts';
import { testEndpoints, uniqueName } from './endpoints.ts';

export const testAws = () => ({
  region: 'us-east-1',
  endpoint: testEndpoints().awsEndpoint,
  credentials: emulatorCredentials,
});

/** A single-table design table (PK, SK) with a NEW_AND_OLD_IMAGES stream. */
export async function createStreamTable(dynamodb: DynamoDBClient, name = uniqueName('orders')): Promise<string> {
  await createOrdersTable(dynamodb, name);
  return name;
}

/** Connector options for tests without a source: fast polling, topics named after the run. */
export function baseConnectorOptions(prefix: string): ConnectorOptions {
  return {
    name: `${prefix}-connector`,
    sources: [],
    kafka: createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix }),
    codec: new ChangeEventCodec({ url: testEndpoints().registryUrl }),
    topics: {
      template: `${prefix}.{table}.{entity}`,
      checkpoints: `${prefix}.checkpoints`,
      deadLetter: `${prefix}.dlq`,
      tombstones: false,
    },
    startPosition: 'TRIM_HORIZON',
    gapPolicy: 'fail',
    polling: {
      idleMinMs: 50,
      idleMaxMs: 200,
      recordsPerRead: 1000,
      recordsPerRound: 2000,
      backoff: { baseMs: 50, maxMs: 1000, attempts: 5 },
      discoveryIntervalMs: 5_000,
    },
    maxMessageBytes: 1_000_000,
    dedupeWindowSize: 10_000,
    retentionHours: 24,
    backoff: { baseMs: 100, maxMs: 2_000, attempts: Infinity },
    logger: logger.child({ test: prefix }),
  };
}

/** Connector options for tests reading one emulator table's stream. */
export async function testConnectorOptions(
  table: string,
  prefix: string,
  overrides: Partial<ConnectorOptions> = {},
): Promise<ConnectorOptions> {
  const aws = testAws();
  const source = new DynamoDbStreamSource(createDynamoDbStreams(aws), {
    table,
    region: aws.region,
    streamArn: await streamArnOf(createDynamoDb(aws), table),
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  return { ...baseConnectorOptions(prefix), sources: [source], ...overrides };
}

/** Every event id the table's stream holds: the ground truth the topics must equal. */
export async function streamEventIds(table: string): Promise<string[]> {
  const aws = testAws();
  const streams = createDynamoDbStreams(aws);
  const StreamArn = await streamArnOf(createDynamoDb(aws), table);
  const ids: string[] = [];
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn }));
  for (const shard of StreamDescription!.Shards!) {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const { Records, NextShardIterator } = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      if (!Records?.length) break;
      ids.push(...Records.map((record) => record.eventID!));
      iterator = NextShardIterator;
    }
  }
  return ids;
}

export { Connector, type Kafka };
