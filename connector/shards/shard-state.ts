import type { Message } from 'kafkajs';
import {
  formatCheckpointKey,
  parseCheckpointKey,
  parseSnapshotStreamId,
  snapshotStreamId,
} from '../checkpoint-keys.ts';
import { checkpointMessage, type Checkpoint } from '../checkpoints.ts';
import { versionAt } from '../events/version.ts';
import { SWEEP_SHARD } from '../snapshot/snapshot-source.ts';
import { DedupeWindow } from './dedupe.ts';
import { planShards, type LineagePlan } from './lineage.ts';
import { ShardReader, type PollingPolicy } from './shard-reader.ts';
import type { ShardInfo, ShardSource } from './source.ts';

export type SnapshotFactory = (table: string, run: string, version: string) => ShardSource;

export interface ShardStateOptions {
  /** The connector name: the first part of every checkpoint key. */
  connector: string;
  sources: readonly ShardSource[];
  dedupeWindowSize: number;
  snapshotFactory?: SnapshotFactory;
}

/** What a committed round changes in the state: its readers, ids, versions and how many pending checkpoints it carried. */
export interface CommittedRound {
  readers: Iterable<ShardReader>;
  pending: number;
  dedupeIds: Map<string, string>;
  versions: Map<string, bigint>;
}

/**
 * Everything the connector knows about the shards it reads: its own list of sources (re-snapshot runs
 * join it, the caller's list stays as given), a reader per readable shard, which shards were started and
 * finished, the committed checkpoints and versions, the duplicate window, and the checkpoints a begun
 * re-snapshot still has to write. One instance per assignment unit, so that a unit can move between
 * connector instances with its state.
 */
export class ShardState {
  readonly sources: ShardSource[];
  readonly readers = new Map<string, { reader: ShardReader; source: ShardSource }>();
  readonly dedupe: DedupeWindow;
  /** Checkpoints to write with the next transaction (a re-snapshot run that has begun). */
  readonly pendingCheckpoints: Message[] = [];
  /** When the shards were last listed; 0 asks for a listing in the next round. */
  lastDiscovery = 0;
  /** Shard ids by stream: Kinesis shard ids repeat across streams. */
  private readonly finished = new Map<string, Set<string>>();
  private readonly started = new Map<string, Set<string>>();
  private readonly streamsWithCheckpoints = new Set<string>();
  private checkpoints = new Map<string, Checkpoint>();
  /** The highest event version committed per checkpoint key: where a re-snapshot's versions start. */
  private readonly shardVersions = new Map<string, bigint>();
  /** The highest version of a re-snapshot run begun per table, here or by an earlier instance: the next run goes above it. */
  private readonly resnapshotVersions = new Map<string, bigint>();

  constructor(private readonly options: ShardStateOptions) {
    this.sources = [...options.sources];
    this.dedupe = new DedupeWindow(options.dedupeWindowSize);
  }

  key(source: ShardSource, shardId: string): string {
    return formatCheckpointKey({ connector: this.options.connector, stream: source.streamId, shard: shardId });
  }

  /** The shard a checkpoint key names, when the key is this connector's and of `source`'s stream. */
  private shardOf(key: string, source: ShardSource): string | undefined {
    const parsed = parseCheckpointKey(key);
    return parsed?.connector === this.options.connector && parsed.stream === source.streamId ? parsed.shard : undefined;
  }

  committedCheckpoint(source: ShardSource, shardId: string): Checkpoint | undefined {
    return this.checkpoints.get(this.key(source, shardId));
  }

  version(key: string): bigint | undefined {
    return this.shardVersions.get(key);
  }

  /**
   * The checkpoints as Kafka holds them (at start, or after a commit whose outcome was unknown): unfinished
   * re-snapshot runs resume, and every reader goes on from its shard's committed position.
   */
  restore(checkpoints: Map<string, Checkpoint>): void {
    this.dropPendingHeld(checkpoints);
    this.resumeSnapshotRuns(checkpoints);
    for (const source of this.sources) {
      for (const [key, checkpoint] of checkpoints) {
        const shardId = this.shardOf(key, source);
        if (shardId === undefined) continue;
        this.streamsWithCheckpoints.add(source.streamId);
        shardSet(this.started, source.streamId).add(shardId);
        if (checkpoint.finished) shardSet(this.finished, source.streamId).add(shardId);
        if (checkpoint.recentEventIds) this.dedupe.seed(key, checkpoint.recentEventIds);
        const version =
          checkpoint.version ?? (source.kind === 'DYNAMODB_STREAMS' ? checkpoint.sequenceNumber : undefined);
        if (version !== undefined && /^\d+$/.test(version)) this.shardVersions.set(key, BigInt(version));
      }
    }
    this.checkpoints = checkpoints;
    for (const [key, { reader }] of this.readers) {
      const checkpoint = checkpoints.get(key);
      if (checkpoint?.finished) this.retire(reader);
      else reader.resetTo(checkpoint?.sequenceNumber);
    }
  }

  /**
   * A commit whose outcome was unknown may have carried the pending checkpoints. One Kafka holds is not
   * written again: a run's opening checkpoint would undo the progress its segment made since (a finished
   * segment scanned again, its rows audited twice). Kafka holds it when it has the key at all, or, for a
   * shard marked finished, when it has the key finished.
   */
  private dropPendingHeld(checkpoints: Map<string, Checkpoint>): void {
    const held = ({ key, value }: Message): boolean => {
      const stored = checkpoints.get(String(key));
      return stored !== undefined && (stored.finished || !(JSON.parse(String(value)) as Checkpoint).finished);
    };
    this.pendingCheckpoints.splice(
      0,
      this.pendingCheckpoints.length,
      ...this.pendingCheckpoints.filter((message) => !held(message)),
    );
  }

  /**
   * Re-snapshot runs started after a gap are not in the configuration: unfinished ones (their segments
   * or their closing sweep) are resumed from their checkpoints, with the version their rows carry.
   */
  private resumeSnapshotRuns(checkpoints: Map<string, Checkpoint>): void {
    const runs = new Map<string, { table: string; id: string; finished: boolean; version: string }>();
    for (const [key, checkpoint] of checkpoints) {
      const parsed = parseCheckpointKey(key);
      const stream = parsed ? parseSnapshotStreamId(parsed.stream) : undefined;
      if (!parsed || !stream?.run) continue;
      const { table, run: id } = stream;
      const run = runs.get(parsed.stream) ?? { table, id, finished: false, version: '0' };
      if (parsed.shard === SWEEP_SHARD && checkpoint.finished) run.finished = true;
      if (checkpoint.version !== undefined && BigInt(checkpoint.version) > BigInt(run.version))
        run.version = checkpoint.version;
      runs.set(parsed.stream, run);
    }
    for (const { table, id, finished, version } of runs.values()) {
      this.noteResnapshot(table, version);
      if (
        !finished &&
        this.options.snapshotFactory &&
        !this.sources.some((source) => source.streamId === snapshotStreamId({ table, run: id }))
      ) {
        this.sources.push(this.options.snapshotFactory(table, id, version));
      }
    }
  }

  /**
   * Other units' committed checkpoints (a scaled-out connector): their finished shards let this unit's
   * children start, their versions raise a re-snapshot's floor, and a re-snapshot run one of them began
   * joins the sources (read only by the unit it belongs to). This unit's own positions stay its own: they
   * are ahead of what it has committed, or equal.
   */
  observe(checkpoints: Map<string, Checkpoint>, foreign: (source: ShardSource, shardId: string) => boolean): void {
    this.resumeSnapshotRuns(checkpoints);
    for (const source of this.sources) {
      for (const [key, checkpoint] of checkpoints) {
        const shardId = this.shardOf(key, source);
        if (shardId === undefined) continue;
        // A run's first segment begun by another unit: its version comes with it.
        const version =
          checkpoint.version ?? (source.kind === 'DYNAMODB_STREAMS' ? checkpoint.sequenceNumber : undefined);
        if (
          version !== undefined &&
          /^\d+$/.test(version) &&
          (foreign(source, shardId) || !this.shardVersions.has(key))
        ) {
          if (BigInt(version) > (this.shardVersions.get(key) ?? -1n)) this.shardVersions.set(key, BigInt(version));
        }
        if (!foreign(source, shardId)) continue;
        this.streamsWithCheckpoints.add(source.streamId);
        shardSet(this.started, source.streamId).add(shardId);
        if (checkpoint.finished) shardSet(this.finished, source.streamId).add(shardId);
      }
    }
  }

  isFinished(source: ShardSource, shardId: string): boolean {
    return shardSet(this.finished, source.streamId).has(shardId);
  }

  /** Which of a stream's listed shards may be read now (parents first), and which parents vanished mid-read. */
  plan(source: ShardSource, shards: readonly ShardInfo[]): LineagePlan {
    return planShards(shards, {
      finished: shardSet(this.finished, source.streamId),
      started: shardSet(this.started, source.streamId),
    });
  }

  /**
   * A shard that is gone before it was read to its end (a gap, handled by the policy): finished here, and in
   * the next transaction, so that a restart does not meet its gap again.
   */
  markGone(source: ShardSource, shardId: string): void {
    const key = this.key(source, shardId);
    this.readers.delete(key);
    shardSet(this.finished, source.streamId).add(shardId);
    this.pendingCheckpoints.push(checkpointMessage(key, { ...this.checkpoints.get(key), finished: true }));
    this.lastDiscovery = 0;
  }

  ensureReader(
    source: ShardSource,
    shard: ShardInfo,
    startPosition: 'TRIM_HORIZON' | 'LATEST',
    polling: PollingPolicy,
  ): void {
    const key = this.key(source, shard.shardId);
    if (this.readers.has(key)) return;
    const committed = this.checkpoints.get(key)?.sequenceNumber;
    // LATEST only for a stream this connector has never read; children of read shards start at their
    // beginning, or their first records would be skipped.
    const started = shardSet(this.started, source.streamId);
    const fresh =
      !this.streamsWithCheckpoints.has(source.streamId) && shard.parentShardIds.every((parent) => !started.has(parent));
    const initial =
      startPosition === 'LATEST' && fresh && !shard.closed
        ? { type: 'LATEST' as const }
        : { type: 'TRIM_HORIZON' as const };
    this.readers.set(key, { reader: new ShardReader(source, shard.shardId, committed, initial, polling), source });
  }

  readersOf(source: ShardSource): number {
    return [...this.readers.values()].filter((entry) => entry.source === source).length;
  }

  /** A transaction failed: every reader reads again from its committed position. */
  rewind(): void {
    for (const { reader } of this.readers.values()) reader.rewind();
  }

  /** A round's transaction committed: its positions, ids and versions are now Kafka's. */
  committed(round: CommittedRound): void {
    // A gap found while this round was read added its own, for the next round.
    this.pendingCheckpoints.splice(0, round.pending);
    this.dedupe.remember(round.dedupeIds);
    for (const [key, version] of round.versions) this.shardVersions.set(key, version);
    for (const reader of round.readers) {
      reader.commit();
      shardSet(this.started, reader.streamId).add(reader.shardId);
      if (reader.ended) this.retire(reader);
    }
  }

  /** A closed shard read to its end: its children may start at once. */
  private retire(reader: ShardReader): void {
    for (const [key, entry] of this.readers) {
      if (entry.reader === reader) this.readers.delete(key);
    }
    shardSet(this.finished, reader.streamId).add(reader.shardId);
    this.lastDiscovery = 0;
  }

  /**
   * Begins a re-snapshot run of `table` after a gap: its source joins this state's sources, and its first
   * segment's checkpoint waits in `pendingCheckpoints` for the next transaction, the one that carries the
   * stream position after the gap, so a crash cannot leave the stream past the gap with no re-snapshot to cover it.
   */
  beginResnapshot(table: string, run: string, factory: SnapshotFactory): string {
    const version = this.resnapshotVersion(table);
    this.noteResnapshot(table, version);
    const snapshot = factory(table, run, version);
    this.sources.push(snapshot);
    this.pendingCheckpoints.push(checkpointMessage(this.key(snapshot, 'segment-0'), { finished: false, version }));
    // Every later checkpoint of that segment carries the version too, even when the segment reads no row:
    // a run resumed after a crash takes its version from its checkpoints.
    this.shardVersions.set(this.key(snapshot, 'segment-0'), BigInt(version));
    this.lastDiscovery = 0;
    return version;
  }

  private noteResnapshot(table: string, version: string): void {
    if (BigInt(version) > (this.resnapshotVersions.get(table) ?? -1n))
      this.resnapshotVersions.set(table, BigInt(version));
  }

  /**
   * The version of a re-snapshot's rows: above every version any shard of the table's streams has
   * written (so a row beats whatever a sink holds from before the gap, including the lost changes'
   * predecessors), and, since versions grow with time, below the changes made after the scan reads the
   * item. The sweep that closes the run removes what is below it and was not re-read; its tombstones
   * carry this version minus one, so a re-read row (this version) always wins over them. It is also 2 above
   * every earlier run of the table: a gap met before anything after the previous one was committed would
   * otherwise give the same version, and the newer run's rows and tombstones could not replace the older's.
   */
  private resnapshotVersion(table: string): string {
    let floor = (this.resnapshotVersions.get(table) ?? -2n) + 2n;
    for (const source of this.sources) {
      if (source.table !== table || source.kind === 'SNAPSHOT') continue;
      for (const [key, version] of this.shardVersions)
        if (this.shardOf(key, source) !== undefined && version + 2n > floor) floor = version + 2n;
      // Kinesis versions begin with the creation time: now is above every change already made, also when
      // no checkpoint carries a version yet (written by an older Shardline).
      if (source.kind === 'KINESIS') {
        const now = versionAt(BigInt(Date.now()) * 1000n);
        if (now > floor) floor = now;
      }
    }
    return floor.toString();
  }
}

function shardSet(byStream: Map<string, Set<string>>, streamId: string): Set<string> {
  let shards = byStream.get(streamId);
  if (!shards) byStream.set(streamId, (shards = new Set()));
  return shards;
}
