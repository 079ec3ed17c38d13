import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';

const GET_SHARD_ITERATOR = 'DynamoDBStreams_20120810.GetShardIterator';

/** Records the stream no longer had when the connector asked for them: after its checkpoint, below the trim horizon. */
export interface TrimmedRange {
  streamArn: string;
  shardId: string;
  /** The connector's committed position: everything after it up to `horizon` (excluded) was gone. */
  after: bigint;
  horizon: bigint;
}

/**
 * The AWS endpoint the connector talks to: moto behind a loopback proxy that can trim a DynamoDB stream,
 * which moto cannot (its streams keep every record, and disabling one breaks the table's writes). After
 * `trim`, the proxy answers for the stream's shards as DynamoDB Streams answers once records have passed
 * the retention: an iterator at or after a sequence number below the horizon is refused with
 * TrimmedDataAccessException, and TRIM_HORIZON starts at the horizon. Everything else goes to moto unchanged.
 * A trim is made only while the connector is down (it was away longer than the retention), so no iterator
 * it holds predates one.
 */
export class TrimmingProxy {
  private server: Server | undefined;
  /** The oldest sequence number each trimmed shard still has, by `<stream ARN>|<shard id>`. */
  private readonly horizons = new Map<string, bigint>();
  /** What the connector asked for and was told is gone, in the order asked. */
  readonly trimmed: TrimmedRange[] = [];
  url = '';

  constructor(private readonly target: URL, private readonly streams: DynamoDBStreamsClient) {}

  async start(): Promise<void> {
    const server = createServer((incoming, outgoing) => void this.handle(incoming, outgoing));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }

  /** Trims every shard of the stream at its current end: the records it holds now are past the retention. */
  async trim(streamArn: string): Promise<Map<string, bigint>> {
    const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const horizons = new Map<string, bigint>();
    for (const { ShardId } of StreamDescription?.Shards ?? []) {
      let last: bigint | undefined;
      await this.readShard(streamArn, ShardId!, { ShardIteratorType: 'TRIM_HORIZON' }, (sequenceNumber) => void (last = sequenceNumber), () => false);
      const starting = BigInt(StreamDescription!.Shards!.find((shard) => shard.ShardId === ShardId)!.SequenceNumberRange!.StartingSequenceNumber!);
      const horizon = last === undefined ? starting : last + 1n;
      this.horizons.set(`${streamArn}|${ShardId}`, horizon);
      horizons.set(ShardId!, horizon);
    }
    return horizons;
  }

  /** The canonical keys of the records the connector was told are gone, one entry per record (read from moto, which kept them). */
  async trimmedKeys(): Promise<string[]> {
    const seen = new Set<string>();
    const keys: string[] = [];
    for (const { streamArn, shardId, after, horizon } of this.trimmed) {
      await this.readShard(streamArn, shardId, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after.toString() }, (sequenceNumber, record) => {
        if (sequenceNumber >= horizon || seen.has(`${shardId}|${sequenceNumber}`)) return;
        seen.add(`${shardId}|${sequenceNumber}`);
        keys.push(canonicalKey(record as DynamoImage));
      }, (sequenceNumber) => sequenceNumber >= horizon);
    }
    return keys;
  }

  /** Reads a shard straight from moto, page by page, until a page is empty or `done` says so. */
  private async readShard(streamArn: string, shardId: string, position: { ShardIteratorType: 'TRIM_HORIZON' } | { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER'; SequenceNumber: string }, onRecord: (sequenceNumber: bigint, keys: unknown) => void, done: (sequenceNumber: bigint) => boolean): Promise<void> {
    let { ShardIterator } = await this.streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ...position }));
    while (ShardIterator) {
      const page = await this.streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
      const records = page.Records ?? [];
      for (const record of records) onRecord(BigInt(record.dynamodb!.SequenceNumber!), record.dynamodb!.Keys);
      const last = records.at(-1);
      if (!last || done(BigInt(last.dynamodb!.SequenceNumber!))) return;
      ShardIterator = page.NextShardIterator;
    }
  }

  private async handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (incoming.headers['x-amz-target'] === GET_SHARD_ITERATOR) {
      const asked = JSON.parse(body.toString('utf8')) as { StreamArn: string; ShardId: string; ShardIteratorType: string; SequenceNumber?: string };
      const answer = this.shardIterator(asked);
      if (answer === 'trimmed') {
        outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        outgoing.end(JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException',
          message: `sequence number ${asked.SequenceNumber} of ${asked.ShardId} is past the stream's retention`,
        }));
        return;
      }
      body = Buffer.from(JSON.stringify(answer));
    }
    const upstream = request(new URL(incoming.url ?? '/', this.target), {
      method: incoming.method,
      headers: { ...incoming.headers, host: this.target.host, 'content-length': String(body.length) },
    }, (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    });
    // A connector killed mid-request, or moto busy: the client sees a broken connection and retries.
    upstream.on('error', () => outgoing.destroy());
    outgoing.on('close', () => upstream.destroy());
    upstream.end(body);
  }

  /** The request as moto should get it, or 'trimmed' when it asks for records below the shard's horizon. */
  private shardIterator(asked: { StreamArn: string; ShardId: string; ShardIteratorType: string; SequenceNumber?: string }): typeof asked | 'trimmed' {
    const horizon = this.horizons.get(`${asked.StreamArn}|${asked.ShardId}`);
    if (horizon === undefined) return asked;
    if (asked.ShardIteratorType === 'TRIM_HORIZON') return { ...asked, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: horizon.toString() };
    if (asked.SequenceNumber === undefined) return asked;
    const first = BigInt(asked.SequenceNumber) + (asked.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1n : 0n);
    if (first >= horizon) return asked;
    this.trimmed.push({ streamArn: asked.StreamArn, shardId: asked.ShardId, after: first - 1n, horizon });
    return 'trimmed';
  }
}
