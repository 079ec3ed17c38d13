/**
 * The one owner of the names the connector stores positions under. A checkpoint key is
 * `<connector>|<stream>|<shard>`: neither connector names (letters, digits, `.`, `-`, `_`), AWS stream ids (ARNs,
 * Kinesis stream names), table names nor shard ids can hold a `|`.
 */
export interface CheckpointKey {
  connector: string;
  stream: string;
  shard: string;
}

const SEPARATOR = '|';

export const formatCheckpointKey = ({ connector, stream, shard }: CheckpointKey): string =>
  [connector, stream, shard].join(SEPARATOR);

/** Undefined for a key that is not a checkpoint's (a barrier, another tool's record). */
export function parseCheckpointKey(key: string): CheckpointKey | undefined {
  const parts = key.split(SEPARATOR);
  if (parts.length !== 3 || parts.some((part) => part === '')) return undefined;
  const [connector, stream, shard] = parts as [string, string, string];
  return { connector, stream, shard };
}

/** A table scan's stream: the configured snapshot, or a re-snapshot run after a gap (`resnapshot-<n>`). */
export interface SnapshotStream {
  table: string;
  run?: string;
}

const RESNAPSHOT_RUN = /^resnapshot-\d+$/;

export const snapshotStreamId = ({ table, run }: SnapshotStream): string =>
  run ? `snapshot:${table}:${run}` : `snapshot:${table}`;

export const resnapshotRunId = (startedAtMs: number): string => `resnapshot-${startedAtMs}`;

/** Undefined for a stream that is not a scan's. Table names hold no `:`, so the run is what follows the second. */
export function parseSnapshotStreamId(stream: string): SnapshotStream | undefined {
  if (!stream.startsWith('snapshot:')) return undefined;
  const [table, run, ...rest] = stream.slice('snapshot:'.length).split(':');
  if (!table || rest.length > 0 || (run !== undefined && !RESNAPSHOT_RUN.test(run))) return undefined;
  return run === undefined ? { table } : { table, run };
}
