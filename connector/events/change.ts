import type { ChangeEvent, DynamoImage, Op, SourcePosition } from '../../schemas/change-event.ts';
import { ConversionError, canonicalKey } from '../../schemas/change-event.ts';
import { entityOf, type EntityRule } from './entity.ts';

/** What the two stream formats (DynamoDB Streams and Kinesis) have in common. */
export interface StreamChange {
  eventName: string | undefined;
  eventId: string | undefined;
  keys: DynamoImage | undefined;
  oldImage: DynamoImage | undefined;
  newImage: DynamoImage | undefined;
  userIdentity: { type?: string; principalId?: string } | undefined;
}

const OPS = new Set<Op>(['INSERT', 'MODIFY', 'REMOVE']);

// TTL deletes are made by the DynamoDB service principal.
const isTtlDelete = (identity: StreamChange['userIdentity']): boolean =>
  identity?.type === 'Service' && identity.principalId === 'dynamodb.amazonaws.com';

export function streamChangeToEvent(
  change: StreamChange,
  context: {
    table: string;
    entityRule: EntityRule;
    version: string;
    position: Omit<SourcePosition, 'userIdentity' | 'ttlDelete' | 'table'>;
  },
): ChangeEvent {
  const op = change.eventName as Op;
  if (!OPS.has(op)) throw new ConversionError(`unknown eventName ${JSON.stringify(change.eventName)}`);
  if (!change.eventId) throw new ConversionError('the record has no eventID');
  if (!change.keys || Object.keys(change.keys).length === 0) throw new ConversionError('the record has no Keys');
  // The Kafka key, document id and cache key are made from it later: a key that cannot be one is this record's fault.
  canonicalKey(change.keys);
  const identity =
    change.userIdentity?.type && change.userIdentity.principalId
      ? { type: change.userIdentity.type, principalId: change.userIdentity.principalId }
      : null;
  return {
    op,
    eventId: change.eventId,
    table: context.table,
    entity: entityOf(context.entityRule, change.keys, change.newImage ?? change.oldImage ?? null),
    version: context.version,
    keys: change.keys,
    before: change.oldImage ?? null,
    after: change.newImage ?? null,
    source: {
      ...context.position,
      table: context.table,
      userIdentity: identity,
      ttlDelete: op === 'REMOVE' && isTtlDelete(change.userIdentity),
    },
  };
}
