import { SimulatedStream, type SimulatedShard } from '../test/harness/simulated-streams.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';

export const SHARDS = 4;
export const RECORDS_PER_SHARD = 25_000;
export const RECORDS = SHARDS * RECORDS_PER_SHARD;

/** An order's image with realistic attributes (decimals, timestamps, nested list). */
function orderImage(index: number): Record<string, unknown> {
  return {
    PK: { S: `ORDER#${index}` },
    SK: { S: `ORDER#${index}` },
    user_id: { S: `USER#${index % 500}` },
    category: { S: ['books', 'games', 'toys'][index % 3]! },
    created_at: { S: '2026-11-25T10:15:00.000Z' },
    total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
    status: { S: 'new' },
    items: { L: [{ M: { sku: { S: `SKU-${index}` }, qty: { N: '2' }, price: { N: '9.99' } } }] },
  };
}

/**
 * One change of the recorded stream, its attributes made when a read asks for them: the stream is held
 * as the stream service holds it, outside the connector, whose memory is what the bench measures (the
 * whole stream's images held in its process were ~110 MB of its RSS).
 */
class RecordedChange {
  constructor(
    private readonly index: number,
    private readonly offset: number,
  ) {}
  get sequenceNumber(): string {
    return String(4421584500000000017450439091n + BigInt(this.offset));
  }
  get id(): string {
    return String(this.index);
  }
  get newImage(): Record<string, unknown> {
    return orderImage(this.index);
  }
}

/** The stream's ARN: what its checkpoint keys and (scaled out) its shards' units are made from. */
export const recordedStreamArn = (run: string): string =>
  `arn:aws:dynamodb:us-east-1:000000000000:table/bench-${run}/stream/2026-11-27T00:00:00.000`;

/**
 * The bench's stream: `shards` closed shards of `perShard` order INSERTs each (SHARDS of RECORDS_PER_SHARD
 * unless said), the same on every read and in every process.
 */
export function recordedStream(run: string, shards = SHARDS, perShard = RECORDS_PER_SHARD): SimulatedStream {
  return new SimulatedStream(
    recordedStreamArn(run),
    Array.from({ length: shards }, (_, shard): SimulatedShard => ({
      shardId: `shard-${shard}`,
      closed: true,
      records: Array.from({ length: perShard }, (_, offset) => new RecordedChange(shard * perShard + offset, offset)),
    })),
  );
}

export const recordedSource = (stream: SimulatedStream): DynamoDbStreamSource =>
  new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: stream.streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
