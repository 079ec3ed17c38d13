import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import { createDynamoDb, createDynamoDbStreams, type AwsConnection } from '../core/aws.ts';
import { streamArnOf } from '../connector/dynamodb/table.ts';
import { createOrdersTable } from '../cli/demo/workload.ts';
import { writeUnpaced } from './batch-writers.ts';

/** Enough for a steady rate, few enough to keep the measurement short (about 5-15 s a part on moto). */
const ORDERS = 8_000;
/** As many as the connector asks for in one GetRecords in the bench (its `recordsPerRead`). */
const RECORDS_PER_READ = 1_000;

/** What the DynamoDB emulator serves alone, before the pipeline runs against it. */
export interface EmulatorCeiling {
  orders: number;
  /** Orders a second that BatchWriteItem took from the bench's writers, unpaced. */
  writeRate: number;
  /** Stream records a second that GetRecords returned, reading those orders' changes. */
  streamRate: number;
}

/** Reads every shard of the stream from TRIM_HORIZON with GetRecords until `records` records came back. */
async function readStream(streams: DynamoDBStreamsClient, streamArn: string, records: number): Promise<number> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  let read = 0;
  for (const { ShardId } of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator && read < records) {
      const answer = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: RECORDS_PER_READ }));
      // An open shard's iterator never ends: an empty page is its end for now.
      if (!answer.Records?.length) break;
      read += answer.Records.length;
      iterator = answer.NextShardIterator;
    }
  }
  return read;
}

/**
 * The emulator's own ceilings, on a fresh table and without the pipeline: the rate it takes BatchWriteItem
 * orders from `writers` writers, then the rate it serves those orders' stream records to GetRecords (plain SDK
 * calls, as the connector makes them). The table is deleted after.
 */
export async function measureEmulatorCeiling(
  aws: AwsConnection,
  table: string,
  writers: number,
): Promise<EmulatorCeiling> {
  const dynamodb = createDynamoDb(aws);
  const streams = createDynamoDbStreams(aws);
  try {
    await createOrdersTable(dynamodb, table);
    const written = await writeUnpaced(dynamodb, table, { orders: ORDERS, writers });
    const streamArn = await streamArnOf(dynamodb, table);
    const started = performance.now();
    const read = await readStream(streams, streamArn, written.orders);
    const readSeconds = (performance.now() - started) / 1000;
    if (read < written.orders) throw new Error(`the stream of ${table} gave ${read} of ${written.orders} records`);
    await dynamodb.send(new DeleteTableCommand({ TableName: table }));
    return { orders: written.orders, writeRate: written.orders / written.seconds, streamRate: read / readSeconds };
  } finally {
    dynamodb.destroy();
    streams.destroy();
  }
}
