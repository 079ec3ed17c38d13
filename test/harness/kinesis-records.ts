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
  eventId?: string;
  ttl?: boolean;
}): Buffer {
  return Buffer.from(JSON.stringify({
    awsRegion: 'us-east-1',
    eventID: change.eventId ?? randomUUID(),
    eventName: change.eventName,
    userIdentity: change.ttl ? { type: 'Service', principalId: 'dynamodb.amazonaws.com' } : null,
    recordFormat: 'application/json',
    tableName: change.table,
    dynamodb: {
      ApproximateCreationDateTime: change.creationTimeMicros,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
      Keys: change.keys,
      NewImage: change.newImage,
      OldImage: change.oldImage,
      SizeBytes: 100,
    },
    eventSource: 'aws:dynamodb',
  }));
}
