import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

/**
 * A scripted Kinesis Data Streams API behind a mocked SDK client, for shard lineage the emulator does
 * not give: moto accepts SplitShard and MergeShards, but keeps routing writes to the closed parent and
 * never ends a closed shard for a reader. Only the AWS SDK client is stood in for; Kafka stays real.
 */
export interface SimulatedKinesisShard {
  shardId: string;
  /** One parent after a split, two after a merge. */
  parents: string[];
  closed: boolean;
  records: { sequenceNumber: string; data: Buffer }[];
}

export class SimulatedKinesis {
  constructor(
    readonly streamName: string,
    readonly shards: SimulatedKinesisShard[],
  ) {}

  client(): KinesisClient {
    return { send: (command: unknown) => Promise.resolve(this.handle(command)) } as unknown as KinesisClient;
  }

  private handle(command: unknown): unknown {
    if (command instanceof ListShardsCommand) {
      return {
        Shards: this.shards.map(({ shardId, parents, closed, records }) => ({
          ShardId: shardId,
          ParentShardId: parents[0],
          AdjacentParentShardId: parents[1],
          SequenceNumberRange: {
            StartingSequenceNumber: records[0]?.sequenceNumber ?? '0',
            EndingSequenceNumber: closed ? (records.at(-1)?.sequenceNumber ?? '0') : undefined,
          },
        })),
      };
    }
    if (command instanceof GetShardIteratorCommand) {
      const { ShardId, ShardIteratorType, StartingSequenceNumber } = command.input;
      const shard = this.shard(ShardId!);
      const at = shard.records.findIndex((record) => record.sequenceNumber === StartingSequenceNumber);
      const index =
        ShardIteratorType === 'LATEST'
          ? shard.records.length
          : ShardIteratorType === 'AFTER_SEQUENCE_NUMBER'
            ? at + 1
            : ShardIteratorType === 'AT_SEQUENCE_NUMBER'
              ? at
              : 0;
      return { ShardIterator: JSON.stringify({ shardId: ShardId, index }) };
    }
    if (command instanceof GetRecordsCommand) {
      const { shardId, index } = JSON.parse(command.input.ShardIterator!) as { shardId: string; index: number };
      const shard = this.shard(shardId);
      const records = shard.records.slice(index, index + (command.input.Limit ?? 1000));
      const next = index + records.length;
      return {
        Records: records.map(({ sequenceNumber, data }) => ({
          SequenceNumber: sequenceNumber,
          PartitionKey: shardId,
          Data: data,
        })),
        NextShardIterator:
          shard.closed && next >= shard.records.length ? undefined : JSON.stringify({ shardId, index: next }),
        MillisBehindLatest: 0,
      };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }

  private shard(shardId: string): SimulatedKinesisShard {
    const shard = this.shards.find((candidate) => candidate.shardId === shardId);
    if (!shard) throw Object.assign(new Error(`shard ${shardId} not found`), { name: 'ResourceNotFoundException' });
    return shard;
  }
}
