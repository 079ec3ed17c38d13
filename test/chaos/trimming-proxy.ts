import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';

const GET_SHARD_ITERATOR = 'DynamoDBStreams_20120810.GetShardIterator';
const GET_RECORDS = 'DynamoDBStreams_20120810.GetRecords';

interface IteratorRequest { StreamArn: string; ShardId: string; ShardIteratorType: string; SequenceNumber?: string }

/** Where an iterator the proxy handed out reads next: its shard, and the first sequence number it returns (undefined: unknown, LATEST). */
interface IteratorPosition { shard: string; streamArn: string; shardId: string; next: bigint | undefined }

/** Records the stream no longer had when the connector asked for them: after its checkpoint, below the trim horizon. */
export interface TrimmedRange {
  streamArn: string;
  shardId: string;
  /** The connector's committed position: everything after it up to `horizon` (excluded) was gone. */
  after: bigint;
  horizon: bigint;
  /** How the connector met the trim: asking for an iterator at its position, or reading with one it held. */
  met: 'GetShardIterator' | 'GetRecords';
}

/**
 * The AWS endpoint the connector talks to: moto behind a loopback proxy that can trim a DynamoDB stream,
 * which moto cannot (its streams keep every record, and disabling one breaks the table's writes). After
 * `trim`, the proxy answers for the stream's shards as DynamoDB Streams answers once records have passed
 * the retention: an iterator asked for at or after a sequence number below the horizon is refused with
 * TrimmedDataAccessException, and so is a read with an iterator handed out before that now points below it
 * (a reader that fell behind: `stallReads` holds the reads meanwhile, as a read that hangs); TRIM_HORIZON
 * starts at the horizon. Everything else goes to moto unchanged.
 */
export class TrimmingProxy {
  private server: Server | undefined;
  /** The oldest sequence number each trimmed shard still has, by `<stream ARN>|<shard id>`. */
  private readonly horizons = new Map<string, bigint>();
  /** What the connector asked for and was told is gone, in the order asked. */
  readonly trimmed: TrimmedRange[] = [];
  /** The iterators handed out and not used yet (a read replaces its iterator with the next). */
  private readonly iterators = new Map<string, IteratorPosition>();
  /** While set, stream reads wait for it before they are looked at: a reader stalled on a read. */
  private stall: { released: Promise<void>; release: () => void } | undefined;
  /** Stream reads held by a stall now. */
  stalledReads = 0;
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

  /** Holds every stream read from now on until `releaseReads` (then each is answered as the stream stands). */
  stallReads(): void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.stall ??= { released: promise, release: resolve };
  }

  releaseReads(): void {
    this.stall?.release();
    this.stall = undefined;
  }

  /** Trims every shard of the stream at its current end: the records it holds now are past the retention. */
  async trim(streamArn: string): Promise<Map<string, bigint>> {
    const horizons = new Map<string, bigint>();
    for (const { shardId, starting, last } of await this.newestRecords(streamArn)) {
      const horizon = last === undefined ? starting : last + 1n;
      this.horizons.set(`${streamArn}|${shardId}`, horizon);
      horizons.set(shardId, horizon);
    }
    return horizons;
  }

  /** Each shard of the stream, its first sequence number and its newest record's (undefined: none yet), read from moto, which keeps what the proxy trims. */
  async newestRecords(streamArn: string): Promise<{ shardId: string; starting: bigint; last: bigint | undefined }[]> {
    const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shards = [];
    for (const { ShardId, SequenceNumberRange } of StreamDescription?.Shards ?? []) {
      let last: bigint | undefined;
      await this.readShard(streamArn, ShardId!, { ShardIteratorType: 'TRIM_HORIZON' }, (sequenceNumber) => void (last = sequenceNumber), () => false);
      shards.push({ shardId: ShardId!, starting: BigInt(SequenceNumberRange!.StartingSequenceNumber!), last });
    }
    return shards;
  }

  /** The canonical keys of the records the connector was told are gone, one entry per record (read from moto, which kept them). */
  async trimmedKeys(): Promise<string[]> {
    const seen = new Set<string>();
    const keys: string[] = [];
    for (const { streamArn, shardId, after, horizon } of this.trimmed) {
      // Below 0: an iterator from the shard's start.
      const from = after < 0n ? { ShardIteratorType: 'TRIM_HORIZON' as const } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: after.toString() };
      await this.readShard(streamArn, shardId, from, (sequenceNumber, record) => {
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
    const target = incoming.headers['x-amz-target'];
    let position: IteratorPosition | undefined;
    if (target === GET_SHARD_ITERATOR) {
      const asked = JSON.parse(body.toString('utf8')) as IteratorRequest;
      const answer = this.shardIterator(asked);
      if (answer === 'trimmed') return void trimmedAnswer(outgoing, `sequence number ${asked.SequenceNumber} of ${asked.ShardId} is past the stream's retention`);
      position = { shard: `${asked.StreamArn}|${asked.ShardId}`, streamArn: asked.StreamArn, shardId: asked.ShardId, next: firstOf(answer) };
      body = Buffer.from(JSON.stringify(answer));
    } else if (target === GET_RECORDS) {
      if (this.stall) {
        this.stalledReads++;
        await this.stall.released.finally(() => this.stalledReads--);
      }
      const { ShardIterator } = JSON.parse(body.toString('utf8')) as { ShardIterator: string };
      // Kept after use: an iterator may be used again (a read retried, a page read ahead and read again), as
      // DynamoDB Streams allows until it expires; one forgotten would read below the horizon unchecked.
      position = this.iterators.get(ShardIterator);
      const horizon = position && this.horizons.get(position.shard);
      if (position?.next !== undefined && horizon !== undefined && position.next < horizon) {
        this.trimmed.push({ streamArn: position.streamArn, shardId: position.shardId, after: position.next - 1n, horizon, met: 'GetRecords' });
        return void trimmedAnswer(outgoing, `the iterator of ${position.shardId} points below the stream's retention`);
      }
    }
    const upstream = request(new URL(incoming.url ?? '/', this.target), {
      method: incoming.method,
      headers: { ...incoming.headers, host: this.target.host, 'content-length': String(body.length) },
    }, (response) => {
      if (position === undefined || response.statusCode !== 200) {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
        return;
      }
      // Iterator answers are read whole: where the iterator they hand out stands is kept.
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => {
        const answer = Buffer.concat(parts);
        this.remember(position, JSON.parse(answer.toString('utf8')) as { ShardIterator?: string; NextShardIterator?: string; Records?: { dynamodb?: { SequenceNumber?: string } }[] });
        outgoing.writeHead(200, response.headers);
        outgoing.end(answer);
      });
    });
    // A connector killed mid-request, or moto busy: the client sees a broken connection and retries.
    upstream.on('error', () => outgoing.destroy());
    outgoing.on('close', () => upstream.destroy());
    upstream.end(body);
  }

  /** Keeps where the iterator in an answer reads next: after the last record returned, else where the asked one stood. */
  private remember(asked: IteratorPosition, answer: { ShardIterator?: string; NextShardIterator?: string; Records?: { dynamodb?: { SequenceNumber?: string } }[] }): void {
    const iterator = answer.ShardIterator ?? answer.NextShardIterator;
    if (iterator === undefined) return;
    const last = answer.Records?.at(-1)?.dynamodb?.SequenceNumber;
    this.iterators.set(iterator, { ...asked, next: last === undefined ? asked.next : BigInt(last) + 1n });
  }

  /** The request as moto should get it, or 'trimmed' when it asks for records below the shard's horizon. */
  private shardIterator(asked: IteratorRequest): IteratorRequest | 'trimmed' {
    const horizon = this.horizons.get(`${asked.StreamArn}|${asked.ShardId}`);
    if (horizon === undefined) return asked;
    if (asked.ShardIteratorType === 'TRIM_HORIZON') return { ...asked, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: horizon.toString() };
    const first = firstOf(asked);
    if (first === undefined || first >= horizon) return asked;
    this.trimmed.push({ streamArn: asked.StreamArn, shardId: asked.ShardId, after: first - 1n, horizon, met: 'GetShardIterator' });
    return 'trimmed';
  }
}

/** The first sequence number an iterator asked for this way returns; TRIM_HORIZON of an untrimmed shard: 0 (its start). */
function firstOf(asked: IteratorRequest): bigint | undefined {
  if (asked.ShardIteratorType === 'TRIM_HORIZON') return 0n;
  if (asked.SequenceNumber === undefined) return undefined;
  return BigInt(asked.SequenceNumber) + (asked.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1n : 0n);
}

/** DynamoDB Streams' answer for records past the retention. */
function trimmedAnswer(outgoing: ServerResponse, message: string): void {
  outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  outgoing.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException', message }));
}
