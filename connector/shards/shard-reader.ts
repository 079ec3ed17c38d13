import type { SourceRecord } from '../events/source-record.ts';
import type { Backoff } from '../../core/backoff.ts';
import { isExpiredIterator, isResourceNotFound, isTrimmedData, withAwsRetries } from './errors.ts';
import type { ReadResult, ShardPosition, ShardSource } from './source.ts';

/** Records between the committed position and what the stream still holds are gone. */
export class GapError extends Error {
  constructor(
    readonly stream: string,
    readonly shardId: string,
    readonly afterSequenceNumber: string | undefined,
    override readonly cause: unknown,
  ) {
    super(
      `gap in ${stream} shard ${shardId}: records after sequence number ${afterSequenceNumber ?? '(start of shard)'} are no longer in the stream (${(cause as Error)?.name ?? cause})`,
    );
    this.name = 'GapError';
  }
}

export interface PollingPolicy {
  /** Wait after an empty read, doubled per empty read up to the maximum: idle shards cost little. */
  idleMinMs: number;
  idleMaxMs: number;
  recordsPerRead: number;
  /** A shard that returns full pages is read again in the same round, up to this many records. */
  recordsPerRound: number;
  backoff: Backoff;
}

/**
 * One shard's read position. `lastRead` runs ahead of `committed` until the transaction that carries
 * the records commits; after a failed transaction `rewind` returns to the committed position.
 */
export class ShardReader {
  private iterator: string | undefined;
  /**
   * The next page, asked for while the round before is committed: the next poll takes it instead of asking
   * again. It moves no position: the records are read only when that poll takes them.
   */
  private ahead: { iterator: string; result: Promise<ReadResult | undefined> } | undefined;
  /** The last read was a page read ahead. */
  private tookReadAhead = false;
  private lastRead: string | undefined;
  private idleMs: number;
  /** The shard's end was reached (closed shard, no next iterator). */
  ended = false;
  nextPollAt = 0;
  /** Creation time of the newest record read, for iterator age; undefined when caught up. */
  newestReadMicros: number | undefined;
  millisBehindLatest: number | undefined;

  constructor(
    private readonly source: ShardSource,
    readonly shardId: string,
    public committed: string | undefined,
    private initial: ShardPosition,
    private readonly policy: PollingPolicy,
  ) {
    this.lastRead = committed;
    this.idleMs = policy.idleMinMs;
  }

  get streamId(): string {
    return this.source.streamId;
  }

  /** Where the uncommitted read position is. */
  get position(): string | undefined {
    return this.lastRead;
  }

  private startPosition(): ShardPosition {
    return this.lastRead ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastRead } : this.initial;
  }

  async poll(now: number): Promise<SourceRecord[]> {
    const result = await this.readOnce()
      .catch(async (error: unknown) => {
        // Iterators expire after 15 minutes: renew from the last record read and try again.
        if (!isExpiredIterator(error)) throw error;
        this.iterator = undefined;
        return this.readOnce();
      })
      .catch((error: unknown) => {
        if (isTrimmedData(error) || isResourceNotFound(error))
          throw new GapError(this.source.streamId, this.shardId, this.lastRead, error);
        throw error;
      });
    const { records, nextIterator, millisBehindLatest } = result;
    this.iterator = nextIterator;
    this.millisBehindLatest = millisBehindLatest;
    if (nextIterator === undefined) this.ended = true;
    const last = records.at(-1);
    // LATEST and TRIM_HORIZON name no position: pin where the first records were found, so that a failed
    // round reads them again, or meets their trim as a gap, instead of asking anew and skipping them (a
    // stream trimmed again after a gap moves TRIM_HORIZON past records read but never committed).
    if ((this.initial.type === 'LATEST' || this.initial.type === 'TRIM_HORIZON') && records[0])
      this.initial = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: records[0].sequenceNumber };
    if (last) {
      this.lastRead = last.sequenceNumber;
      this.newestReadMicros = last.approximateCreationTimeMicros;
      this.idleMs = this.policy.idleMinMs;
      this.nextPollAt = now;
    } else if (this.tookReadAhead) {
      // Read while the round before committed: records may have come since. The next round asks again (with
      // this page's next iterator) rather than waiting as after an empty read.
      this.newestReadMicros = undefined;
      this.nextPollAt = now;
    } else {
      this.newestReadMicros = undefined;
      this.nextPollAt = now + this.idleMs;
      this.idleMs = Math.min(this.policy.idleMaxMs, this.idleMs * 2);
    }
    return records;
  }

  /**
   * Asks for the next page now, for the next poll: a shard that just returned records likely has more, and
   * the read then waits on the network while the round before waits on Kafka. A read-ahead that fails is
   * forgotten (the poll asks again, with its retries and its handling of expired iterators and trims).
   */
  readAhead(): void {
    // Not a scan: a page read ahead and then dropped would count twice against its read budget and progress.
    if (this.source.kind === 'SNAPSHOT' || this.ended || this.ahead || this.iterator === undefined) return;
    const iterator = this.iterator;
    this.ahead = {
      iterator,
      result: this.source.read(this.shardId, iterator, this.policy.recordsPerRead).catch(() => undefined),
    };
  }

  private async readOnce(): Promise<ReadResult> {
    const ahead = this.ahead;
    this.ahead = undefined;
    this.tookReadAhead = false;
    if (ahead && ahead.iterator === this.iterator) {
      const result = await ahead.result;
      this.tookReadAhead = result !== undefined;
      if (result) return result;
    }
    return withAwsRetries(this.policy.backoff, async () => {
      this.iterator ??= await this.source.iterator(this.shardId, this.startPosition());
      return this.source.read(this.shardId, this.iterator, this.policy.recordsPerRead);
    });
  }

  /** The records read so far are in a committed transaction. */
  commit(): void {
    this.committed = this.lastRead;
  }

  /** A transaction failed: read again from the committed position. */
  rewind(): void {
    this.resetTo(this.committed);
  }

  /**
   * Reads on from `sequenceNumber`, the position Kafka holds (after a commit whose outcome was unknown,
   * the checkpoints read back). Undefined: from the shard's initial position.
   */
  resetTo(sequenceNumber: string | undefined): void {
    // A LATEST iterator that has read nothing yet still stands where LATEST was first asked: asking
    // again would skip whatever arrived in between.
    const unreadLatest = sequenceNumber === undefined && this.lastRead === undefined && this.initial.type === 'LATEST';
    this.ahead = undefined;
    this.lastRead = sequenceNumber;
    this.committed = sequenceNumber;
    if (!unreadLatest) this.iterator = undefined;
    this.ended = false;
    this.nextPollAt = 0;
  }

  /** After a gap under the `skip` policy: continue from the oldest record the stream still has. */
  restartFromTrimHorizon(): void {
    this.ahead = undefined;
    this.initial = { type: 'TRIM_HORIZON' };
    this.lastRead = undefined;
    this.committed = undefined;
    this.iterator = undefined;
  }
}
