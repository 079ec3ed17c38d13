import type { ShardInfo, ShardPosition, ShardSource, ReadResult } from '../shards/source.ts';
import type { SourceRecord } from '../events/source-record.ts';

/**
 * A source whose shard listing is shared by the units of one instance for `ttlMs`: each unit lists the
 * streams it reads, and AWS limits listing (DynamoDB Streams' DescribeStream: 10 calls a second per account).
 */
export class SharedListing implements ShardSource {
  private listing: { at: number; shards: Promise<ShardInfo[]> } | undefined;

  constructor(
    private readonly source: ShardSource,
    private readonly ttlMs: number,
  ) {}

  get kind() {
    return this.source.kind;
  }

  get streamId(): string {
    return this.source.streamId;
  }

  get table(): string {
    return this.source.table;
  }

  listShards(): Promise<ShardInfo[]> {
    if (!this.listing || Date.now() - this.listing.at >= this.ttlMs) {
      const shards = this.source.listShards();
      this.listing = { at: Date.now(), shards };
      // A failed listing is not shared: the next unit asks again.
      shards.catch(() => {
        if (this.listing?.shards === shards) this.listing = undefined;
      });
    }
    return this.listing.shards;
  }

  iterator(shardId: string, position: ShardPosition): Promise<string> {
    return this.source.iterator(shardId, position);
  }

  read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    return this.source.read(shardId, iterator, limit);
  }

  revive(shardId: string, raw: unknown): Promise<SourceRecord> {
    return this.source.revive(shardId, raw);
  }
}
