import type { SourceRecord } from '../events/source-record.ts';
import type { ReadResult, ShardInfo, ShardPosition, ShardSource } from './source.ts';

/** A source that hands every call to another: a subclass changes only what it is about (a shared listing, a gate). */
export class WrappedSource implements ShardSource {
  constructor(protected readonly source: ShardSource) {}

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
    return this.source.listShards();
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
