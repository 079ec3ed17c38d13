import type { ShardInfo, ShardSource } from '../shards/source.ts';
import { WrappedSource } from '../shards/wrapped-source.ts';

/**
 * A source whose shard listing is shared by the units of one instance for `ttlMs`: each unit lists the
 * streams it reads, and AWS limits listing (DynamoDB Streams' DescribeStream: 10 calls a second per account).
 */
export class SharedListing extends WrappedSource {
  private listing: { at: number; shards: Promise<ShardInfo[]> } | undefined;

  constructor(
    source: ShardSource,
    private readonly ttlMs: number,
  ) {
    super(source);
  }

  override listShards(): Promise<ShardInfo[]> {
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
}
