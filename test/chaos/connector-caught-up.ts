import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetRecordsCommand as GetKinesisRecordsCommand, GetShardIteratorCommand as GetKinesisShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Kafka } from 'kafkajs';
import { formatCheckpointKey } from '../../connector/checkpoint-keys.ts';
import { loadCheckpoints } from '../../connector/checkpoints.ts';

/** A shard's newest record: the connector has read everything once its checkpoint is there. */
interface ShardEnd {
  stream: string;
  shard: string;
  last: bigint;
}

/** A page of records and where the next one is read from: both AWS clients answer in this shape. */
type Page = { records: string[]; next: string | undefined };

async function lastOfShard(iterator: string | undefined, read: (iterator: string) => Promise<Page>): Promise<bigint | undefined> {
  let last: bigint | undefined;
  while (iterator) {
    const { records, next } = await read(iterator);
    if (records.length === 0) return last;
    last = BigInt(records.at(-1)!);
    iterator = next;
  }
  return last;
}

/** The newest record of every shard of the Streams table's stream, read from moto itself (which keeps what the proxy trims). */
async function streamsEnds(client: DynamoDBStreamsClient, streamArn: string): Promise<ShardEnd[]> {
  const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const ends: ShardEnd[] = [];
  for (const { ShardId } of StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const last = await lastOfShard(ShardIterator, async (iterator) => {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      return { records: (page.Records ?? []).map((record) => record.dynamodb!.SequenceNumber!), next: page.NextShardIterator };
    });
    if (last !== undefined) ends.push({ stream: streamArn, shard: ShardId!, last });
  }
  return ends;
}

async function kinesisEnds(client: KinesisClient, streamName: string): Promise<ShardEnd[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const ends: ShardEnd[] = [];
  for (const { ShardId } of Shards ?? []) {
    const { ShardIterator } = await client.send(new GetKinesisShardIteratorCommand({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const last = await lastOfShard(ShardIterator, async (iterator) => {
      const page = await client.send(new GetKinesisRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      return { records: (page.Records ?? []).map((record) => record.SequenceNumber!), next: page.NextShardIterator };
    });
    if (last !== undefined) ends.push({ stream: streamName, shard: ShardId!, last });
  }
  return ends;
}

export interface ConnectorSources {
  kafka: Kafka;
  checkpointsTopic: string;
  connector: string;
  streams: { client: DynamoDBStreamsClient; streamArn: string };
  kinesis: { client: KinesisClient; streamName: string };
}

/**
 * The shards whose newest record the connector has not committed a checkpoint at (or past) yet. The change
 * topics standing still for a while is not enough: a connector waiting out a long retry writes nothing
 * meanwhile, and the run would be compared before it delivered its last changes.
 */
export async function shardsBehind({ kafka, checkpointsTopic, connector, streams, kinesis }: ConnectorSources): Promise<string[]> {
  const ends = [...(await streamsEnds(streams.client, streams.streamArn)), ...(await kinesisEnds(kinesis.client, kinesis.streamName))];
  const checkpoints = await loadCheckpoints(kafka, checkpointsTopic, connector);
  return ends.flatMap(({ stream, shard, last }) => {
    const checkpoint = checkpoints.get(formatCheckpointKey({ connector, stream, shard }));
    if (checkpoint?.finished || (checkpoint?.sequenceNumber !== undefined && BigInt(checkpoint.sequenceNumber) >= last)) return [];
    return [`${shard} of ${stream}: at ${checkpoint?.sequenceNumber ?? 'nothing'}, newest ${last}`];
  });
}
