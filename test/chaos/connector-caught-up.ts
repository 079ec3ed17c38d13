import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Kafka } from 'kafkajs';
import { formatCheckpointKey } from '../../connector/checkpoint-keys.ts';
import { loadCheckpoints } from '../../connector/checkpoints.ts';
import type { TrimmingProxy } from './trimming-proxy.ts';

/** A shard's newest record: the connector has read everything once its checkpoint is there. */
export interface ShardEnd {
  stream: string;
  shard: string;
  last: bigint;
}

/** The newest record of every shard of the Kinesis stream. */
async function kinesisEnds(client: KinesisClient, streamName: string): Promise<ShardEnd[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const ends: ShardEnd[] = [];
  for (const { ShardId } of Shards ?? []) {
    let { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    let last: string | undefined;
    while (ShardIterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
      if (!page.Records?.length) break;
      last = page.Records.at(-1)!.SequenceNumber;
      ShardIterator = page.NextShardIterator;
    }
    if (last !== undefined) ends.push({ stream: streamName, shard: ShardId!, last: BigInt(last) });
  }
  return ends;
}

/** The newest record of every shard of both tables' streams, once the workloads have stopped writing. */
export async function streamEnds(proxy: TrimmingProxy, streamArn: string, kinesis: KinesisClient, kinesisStream: string): Promise<ShardEnd[]> {
  const streams = (await proxy.newestRecords(streamArn)).flatMap(({ shardId, last }) => (last === undefined ? [] : [{ stream: streamArn, shard: shardId, last }]));
  return [...streams, ...(await kinesisEnds(kinesis, kinesisStream))];
}

/**
 * The shards whose newest record the connector has not committed a checkpoint at (or past) yet. The change
 * topics standing still for a while is not enough: a connector waiting out a long retry writes nothing
 * meanwhile, and the run would be compared before it delivered its last changes.
 */
export async function shardsBehind(kafka: Kafka, checkpointsTopic: string, connector: string, ends: ShardEnd[]): Promise<string[]> {
  const checkpoints = await loadCheckpoints(kafka, checkpointsTopic, connector);
  return ends.flatMap(({ stream, shard, last }) => {
    const checkpoint = checkpoints.get(formatCheckpointKey({ connector, stream, shard }));
    if (checkpoint?.finished || (checkpoint?.sequenceNumber !== undefined && BigInt(checkpoint.sequenceNumber) >= last)) return [];
    return [`${shard} of ${stream}: at ${checkpoint?.sequenceNumber ?? 'nothing'}, newest ${last}`];
  });
}
