import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamChangeToEvent } from '../../../connector/events/change.ts';
import { entityOf } from '../../../connector/events/entity.ts';
import { cloudEventHeaders, eventType, topicFor } from '../../../connector/events/routing.ts';

const keyPrefix = { kind: 'key-prefix', attribute: 'PK', separator: '#' } as const;
const position = {
  kind: 'DYNAMODB_STREAMS',
  region: 'eu-west-1',
  stream: 'arn',
  shardId: 's',
  sequenceNumber: '100000000000000000001',
  approximateCreationTimeMicros: 1_764_000_000_000_000,
} as const;

test('entity rules: key prefix, attribute, fixed', () => {
  assert.equal(entityOf(keyPrefix, { PK: { S: 'ORDER#123' } }, null), 'order');
  assert.equal(
    entityOf(
      { kind: 'attribute', attribute: 'type', fallback: 'item' },
      { PK: { S: 'x' } },
      { type: { S: 'Invoice' } },
    ),
    'invoice',
  );
  assert.equal(entityOf({ kind: 'attribute', attribute: 'type', fallback: 'item' }, { PK: { S: 'x' } }, {}), 'item');
  assert.equal(entityOf({ kind: 'fixed', name: 'user' }, { PK: { S: 'x' } }, null), 'user');
});

test('topics come from the template; domain-event types from entity and operation', () => {
  assert.equal(
    topicFor('shardline.{table}.{entity}', { table: 'shop orders', entity: 'order' }),
    'shardline.shop_orders.order',
  );
  assert.equal(eventType({ entity: 'order', op: 'INSERT' }), 'order.created');
  assert.equal(eventType({ entity: 'order', op: 'MODIFY' }), 'order.updated');
  assert.equal(eventType({ entity: 'order', op: 'REMOVE' }), 'order.deleted');
});

test('a TTL delete is recognisable in the event and its headers', () => {
  const event = streamChangeToEvent(
    {
      eventName: 'REMOVE',
      eventId: 'e',
      keys: { PK: { S: 'ORDER#1' } },
      oldImage: { PK: { S: 'ORDER#1' } },
      newImage: undefined,
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    },
    { table: 'orders', entityRule: keyPrefix, version: position.sequenceNumber, position },
  );
  assert.equal(event.source.ttlDelete, true);
  assert.deepEqual(event.source.userIdentity, { type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  const headers = cloudEventHeaders(event);
  assert.equal(headers.ce_type, 'order.deleted');
  assert.equal(headers.shardline_ttl_delete, 'true');
  assert.equal(headers.ce_time, '2025-11-24T16:00:00.000Z');
});

test('a user delete is not a TTL delete', () => {
  const event = streamChangeToEvent(
    {
      eventName: 'REMOVE',
      eventId: 'e',
      keys: { PK: { S: 'ORDER#1' } },
      oldImage: undefined,
      newImage: undefined,
      userIdentity: undefined,
    },
    { table: 'orders', entityRule: keyPrefix, version: '1', position },
  );
  assert.equal(event.source.ttlDelete, false);
});

test('records without an event name or keys cannot be converted', () => {
  const context = { table: 'orders', entityRule: keyPrefix, version: '1', position };
  assert.throws(
    () =>
      streamChangeToEvent(
        {
          eventName: 'UPSERT',
          eventId: 'e',
          keys: { PK: { S: 'a' } },
          oldImage: undefined,
          newImage: undefined,
          userIdentity: undefined,
        },
        context,
      ),
    /unknown eventName/,
  );
  assert.throws(
    () =>
      streamChangeToEvent(
        {
          eventName: 'INSERT',
          eventId: 'e',
          keys: undefined,
          oldImage: undefined,
          newImage: undefined,
          userIdentity: undefined,
        },
        context,
      ),
    /no Keys/,
  );
});
