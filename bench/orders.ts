import { canonicalKey, type ChangeEvent } from '../schemas/change-event.ts';

/** The recorded-order change number `index`: an INSERT with a realistic image, days spread over a month. */
export function orderEvent(index: number): { key: string; event: ChangeEvent } {
  const keys = { PK: { S: `ORDER#${index}` }, SK: { S: `ORDER#${index}` } };
  const event: ChangeEvent = {
    op: 'INSERT',
    eventId: `bench-${index}`,
    table: 'orders',
    entity: 'order',
    version: String(4421584500000000017450439091n + BigInt(index)),
    keys,
    before: null,
    after: {
      ...keys,
      user_id: { S: `USER#${index % 500}` },
      category: { S: ['books', 'games', 'toys'][index % 3]! },
      status: { S: 'new' },
      created_at: { S: `2026-11-${String(1 + (index % 28)).padStart(2, '0')}T10:15:00.000Z` },
      total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
    },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 'bench',
      shardId: 'bench',
      sequenceNumber: String(index),
      approximateCreationTimeMicros: 1_764_000_000_000_000 + index,
      userIdentity: null,
      ttlDelete: false,
    },
  };
  return { key: canonicalKey(keys), event };
}

export function orderEvents(count: number, first = 0): { key: string; event: ChangeEvent }[] {
  return Array.from({ length: count }, (_, offset) => orderEvent(first + offset));
}
