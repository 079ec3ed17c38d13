import { ConversionError, type DynamoImage, type DynamoValue } from '../../schemas/change-event.ts';
import type { StreamChange } from '../events/change.ts';

/** A DynamoDB change as Kinesis Data Streams for DynamoDB writes it (JSON, binary as base64). */
export interface KinesisChange extends StreamChange {
  eventId: string;
  tableName: string | undefined;
  awsRegion: string | undefined;
  creationTimeMicros: number;
}

type Parsed = { ok: true; change: KinesisChange } | { ok: false; error: ConversionError };

/** DynamoDB JSON from Kinesis carries B and BS as base64 text; the contract carries bytes. */
function decodeValue(value: Record<string, unknown>, path: string): DynamoValue {
  if (value === null || typeof value !== 'object') throw new ConversionError(`${path}: expected an attribute value`);
  if (typeof value.B === 'string') return { B: Buffer.from(value.B, 'base64') };
  if (Array.isArray(value.BS)) return { BS: value.BS.map((item) => Buffer.from(String(item), 'base64')) };
  if (Array.isArray(value.L))
    return { L: value.L.map((item, index) => decodeValue(item as Record<string, unknown>, `${path}[${index}]`)) };
  if (value.M !== undefined) return { M: decodeImage(value.M, path) };
  return value as DynamoValue;
}

function decodeImage(image: unknown, path: string): DynamoImage {
  if (image === null || typeof image !== 'object' || Array.isArray(image))
    throw new ConversionError(`${path}: expected a map of attributes`);
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [
      name,
      decodeValue(value as Record<string, unknown>, `${path}.${name}`),
    ]),
  );
}

// Epoch milliseconds stay below this until the year 5138; epoch microseconds passed it in 1973.
const MICROS_FROM = 1e14;

/**
 * The creation time in microseconds. The table's streaming destination sets the precision and records
 * name it; a record without the field is told apart by magnitude rather than assumed to be milliseconds.
 */
function creationMicros(dynamodb: Record<string, unknown>): number {
  const created = Number(dynamodb.ApproximateCreationDateTime);
  if (dynamodb.ApproximateCreationDateTime === undefined || !Number.isFinite(created))
    throw new ConversionError('dynamodb.ApproximateCreationDateTime is missing');
  if (!Number.isSafeInteger(created) || created < 0)
    throw new ConversionError(
      `dynamodb.ApproximateCreationDateTime ${created} is not a whole number of milliseconds or microseconds`,
    );
  const precision = dynamodb.ApproximateCreationDateTimePrecision;
  const micros = precision === 'MICROSECOND' || (precision === undefined && created >= MICROS_FROM);
  return micros ? created : created * 1000;
}

export function parseKinesisChange(data: Buffer): Parsed {
  try {
    const json = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    const dynamodb = (json.dynamodb ?? {}) as Record<string, unknown>;
    const creationTimeMicros = creationMicros(dynamodb);
    if (typeof json.eventID !== 'string') throw new ConversionError('the record has no eventID');
    const identity = json.userIdentity as { type?: string; principalId?: string } | undefined;
    return {
      ok: true,
      change: {
        eventName: typeof json.eventName === 'string' ? json.eventName : undefined,
        eventId: json.eventID,
        tableName: typeof json.tableName === 'string' ? json.tableName : undefined,
        awsRegion: typeof json.awsRegion === 'string' ? json.awsRegion : undefined,
        creationTimeMicros,
        keys: dynamodb.Keys === undefined ? undefined : decodeImage(dynamodb.Keys, 'Keys'),
        oldImage: dynamodb.OldImage === undefined ? undefined : decodeImage(dynamodb.OldImage, 'OldImage'),
        newImage: dynamodb.NewImage === undefined ? undefined : decodeImage(dynamodb.NewImage, 'NewImage'),
        userIdentity: identity,
      },
    };
  } catch (error) {
    return {
      ok: false,
      error:
        error instanceof ConversionError
          ? error
          : new ConversionError(`not a Kinesis DynamoDB record: ${(error as Error).message}`),
    };
  }
}
