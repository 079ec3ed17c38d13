import { randomUUID } from 'node:crypto';

/**
 * A change in the documented Kinesis Data Streams for DynamoDB record format. The emulator does not
 * stream DynamoDB into Kinesis, so tests write these records themselves.
 */
export function kinesisChangeRecord(change: {
  table: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  keys: Record<string, unknown>;
  newImage?: Record<string, unknown>;
  oldImage?: Record<string, unknown>;
  creationTimeMicros: number;
  /**
   * The stream's precision (MICROSECOND by default); MILLISECOND writes the time in milliseconds, and
   * `unstated` too but without the precision field, as records written before the field existed.
   */
  precision?: 'MICROSECOND' | 'MILLISECOND' | 'unstated';
  eventId?: string;
  ttl?: boolean;
}): Buffer {
  const precision = change.precision ?? 'MICROSECOND';
  return Buffer.from(
    JSON.stringify({
      awsRegion: 'us-east-1',
      eventID: change.eventId ?? randomUUID(),
      eventName: change.eventName,
      userIdentity: change.ttl ? { type: 'Service', principalId: 'dynamodb.amazonaws.com' } : null,
      recordFormat: 'application/json',
      tableName: change.table,
      dynamodb: {
        ApproximateCreationDateTime:
          precision === 'MICROSECOND' ? change.creationTimeMicros : Math.floor(change.creationTimeMicros / 1000),
        ApproximateCreationDateTimePrecision: precision === 'unstated' ? undefined : precision,
        Keys: change.keys,
        NewImage: change.newImage,
        OldImage: change.oldImage,
        SizeBytes: 100,
      },
      eventSource: 'aws:dynamodb',
    }),
  );
}
