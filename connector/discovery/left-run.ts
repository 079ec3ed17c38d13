import { snapshotStreamId } from '../checkpoint-keys.ts';
import type { ShardInfo, ShardSource } from '../shards/source.ts';

/**
 * A re-snapshot run the checkpoints hold of a table the connector does not read (after a restart, a
 * discovered table no rule matches any more): it has no segment to read, so the run stays where it stopped
 * instead of scanning a table no rule takes.
 */
export class LeftRun implements ShardSource {
  readonly kind = 'SNAPSHOT' as const;
  readonly streamId: string;

  constructor(
    readonly table: string,
    run: string,
  ) {
    this.streamId = snapshotStreamId({ table, run });
  }

  async listShards(): Promise<ShardInfo[]> {
    return [];
  }

  iterator(): Promise<string> {
    return this.unread();
  }

  read(): Promise<never> {
    return this.unread();
  }

  revive(): Promise<never> {
    return this.unread();
  }

  private unread(): Promise<never> {
    return Promise.reject(new Error(`the re-snapshot run ${this.streamId} is left: its table is no longer read`));
  }
}
