import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';

/**
 * A scripted DynamoDB Streams API behind a mocked SDK client: for what the emulator cannot do (shard
 * splits, hundreds of shards, expired iterators, trimmed records, throttling), and to replay a recorded
 * batch in the benchmarks. Only the AWS SDK client is stood in for; Kafka and the registry stay real.
 */
export interface SimulatedShard {
  shardId: string;
  parentShardId?: string;
  closed: boolean;
  /** Sequence numbers in order; records before `trimmedBefore` are past retention. */
  records: {
    sequenceNumber: string;
    id: string;
    newImage?: Record<string, unknown>;
    eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
    keys?: Record<string, unknown>;
  }[];
  trimmedBefore?: number;
}

export class SimulatedStream {
  readonly calls: string[] = [];
  /** Errors to throw, by API name, before answering normally. */
  readonly failures: Record<string, string[]> = {};
  /** Iterators handed out before the current epoch have expired (as after 15 idle minutes). */
  private epoch = 0;
  pageSize = 100;

  constructor(
    readonly streamArn: string,
    readonly shards: SimulatedShard[],
  ) {}

  /** Every iterator handed out so far expires. */
  expireIterators(): void {
    this.epoch++;
  }

  client(): DynamoDBStreamsClient {
    return { send: (command: unknown) => this.handle(command) } as unknown as DynamoDBStreamsClient;
  }

  private fail(api: string): void {
    const error = this.failures[api]?.shift();
    if (error) throw Object.assign(new Error(`${error} (simulated)`), { name: error });
  }

  private async handle(command: unknown): Promise<unknown> {
    if (command instanceof DescribeStreamCommand) return this.describe(command.input.ExclusiveStartShardId);
    if (command instanceof GetShardIteratorCommand) return this.iterator(command.input);
    if (command instanceof GetRecordsCommand)
      return this.getRecords(command.input.ShardIterator!, command.input.Limit ?? 1000);
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }

  private describe(exclusiveStart?: string) {
    this.calls.push(`DescribeStream ${exclusiveStart ?? ''}`.trim());
    this.fail('DescribeStream');
    const from = exclusiveStart ? this.shards.findIndex((shard) => shard.shardId === exclusiveStart) + 1 : 0;
    const page = this.shards.slice(from, from + this.pageSize);
    return {
      StreamDescription: {
        StreamArn: this.streamArn,
        Shards: page.map((shard) => ({
          ShardId: shard.shardId,
          ParentShardId: shard.parentShardId,
          SequenceNumberRange: {
            StartingSequenceNumber: shard.records[0]?.sequenceNumber ?? '0',
            EndingSequenceNumber: shard.closed ? (shard.records.at(-1)?.sequenceNumber ?? '0') : undefined,
          },
        })),
        LastEvaluatedShardId: from + this.pageSize < this.shards.length ? page.at(-1)?.shardId : undefined,
      },
    };
  }

  private shard(shardId: string): SimulatedShard {
    const shard = this.shards.find((candidate) => candidate.shardId === shardId);
    if (!shard) throw Object.assign(new Error(`shard ${shardId} not found`), { name: 'ResourceNotFoundException' });
    return shard;
  }

  private iterator(input: { ShardId?: string; ShardIteratorType?: string; SequenceNumber?: string }) {
    this.calls.push(
      `GetShardIterator ${input.ShardId} ${input.ShardIteratorType} ${input.SequenceNumber ?? ''}`.trim(),
    );
    this.fail('GetShardIterator');
    const shard = this.shard(input.ShardId!);
    let index = 0;
    if (input.ShardIteratorType === 'LATEST') index = shard.records.length;
    if (input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER')
      index = shard.records.findIndex((record) => record.sequenceNumber === input.SequenceNumber) + 1;
    if (input.ShardIteratorType === 'AT_SEQUENCE_NUMBER')
      index = shard.records.findIndex((record) => record.sequenceNumber === input.SequenceNumber);
    if (index < (shard.trimmedBefore ?? 0)) {
      if (input.ShardIteratorType === 'TRIM_HORIZON') index = shard.trimmedBefore!;
      else throw Object.assign(new Error('trimmed (simulated)'), { name: 'TrimmedDataAccessException' });
    }
    return { ShardIterator: JSON.stringify({ shardId: shard.shardId, index, epoch: this.epoch }) };
  }

  private getRecords(iterator: string, limit: number) {
    const { shardId, index, epoch } = JSON.parse(iterator) as { shardId: string; index: number; epoch: number };
    this.calls.push(`GetRecords ${shardId} ${index}`);
    this.fail('GetRecords');
    if (epoch < this.epoch) throw Object.assign(new Error('expired (simulated)'), { name: 'ExpiredIteratorException' });
    const shard = this.shard(shardId);
    // An iterator that points below the trim horizon is refused, as one held while the trim caught up is.
    if (index < (shard.trimmedBefore ?? 0))
      throw Object.assign(new Error('trimmed (simulated)'), { name: 'TrimmedDataAccessException' });
    const records = shard.records.slice(index, index + limit);
    const next = index + records.length;
    const ended = shard.closed && next >= shard.records.length;
    return {
      Records: records.map((record) => ({
        eventID: record.id,
        eventName: record.eventName ?? 'INSERT',
        awsRegion: 'us-east-1',
        dynamodb: {
          SequenceNumber: record.sequenceNumber,
          ApproximateCreationDateTime: new Date(),
          Keys: record.keys ?? { PK: { S: `ORDER#${record.id}` } },
          NewImage:
            record.eventName === 'REMOVE'
              ? undefined
              : (record.newImage ?? { PK: { S: `ORDER#${record.id}` }, total: { N: '1' } }),
        },
      })),
      NextShardIterator: ended ? undefined : JSON.stringify({ shardId, index: next, epoch }),
    };
  }
}

/** `count` records with 21-digit sequence numbers starting after `start`. */
export function simulatedRecords(prefix: string, start: number, count: number): SimulatedShard['records'] {
  return Array.from({ length: count }, (_, offset) => ({
    sequenceNumber: String(100000000000000000000n + BigInt(start + offset)),
    id: `${prefix}-${start + offset}`,
  }));
}
