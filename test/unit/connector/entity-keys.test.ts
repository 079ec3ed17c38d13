import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamChangeToEvent } from '../../../connector/events/change.ts';
import { checkEntityRule, entityOf, type EntityRule } from '../../../connector/events/entity.ts';
import { validateConfig } from '../../../cli/config/load.ts';
import { ConfigError } from '../../../core/config/load.ts';
import { ConversionError, type DynamoImage } from '../../../schemas/change-event.ts';

const keyPrefix: EntityRule = { kind: 'key-prefix', attribute: 'PK', separator: '#' };
const position = {
  kind: 'KINESIS',
  region: 'eu-west-1',
  stream: 'cdc',
  shardId: 's',
  sequenceNumber: '1',
  approximateCreationTimeMicros: 1_764_000_000_000_000,
} as const;
const conversionError = (pattern: RegExp) => (error: unknown) =>
  error instanceof ConversionError && pattern.test(error.message);

const convert = (keys: DynamoImage, entityRule: EntityRule = keyPrefix) =>
  streamChangeToEvent(
    { eventName: 'INSERT', eventId: 'e', keys, newImage: keys, oldImage: undefined, userIdentity: undefined },
    { table: 'orders', entityRule, version: '1', position },
  );

test('a key attribute that is not S, N or B fails the conversion (a dead letter), naming the attribute', () => {
  assert.throws(
    () => convert({ PK: { S: 'ORDER#1' }, SK: { BOOL: true } }),
    conversionError(/key attribute SK.*S, N or B/),
  );
  assert.throws(() => convert({ PK: { S: 'ORDER#1' }, SK: { M: {} } }), conversionError(/key attribute SK/));
  assert.equal(convert({ PK: { S: 'ORDER#1' }, SK: { N: '3' } }).entity, 'order');
});

test('key-prefix: a key without the separator is a conversion error, or the configured fallback entity', () => {
  assert.throws(() => entityOf(keyPrefix, { PK: { S: 'plain' } }, null), conversionError(/PK "plain" has no "#"/));
  assert.throws(() => entityOf(keyPrefix, { PK: { S: '#1' } }, null), conversionError(/no entity before "#"/));
  assert.throws(() => entityOf(keyPrefix, { PK: { N: '7' } }, null), conversionError(/PK is not a string/));
  assert.equal(entityOf({ ...keyPrefix, fallback: 'other' }, { PK: { S: 'plain' } }, null), 'other');
});

test('an entity the table does not declare has no topic anyone reads: a conversion error, or the fallback', () => {
  const declared: EntityRule = { ...keyPrefix, declared: ['order', 'customer'] };
  assert.equal(entityOf(declared, { PK: { S: 'CUSTOMER#1' } }, null), 'customer');
  assert.throws(
    () => entityOf(declared, { PK: { S: 'INVOICE#1' } }, null),
    conversionError(/entity "invoice" is not one of the declared entities \(order, customer\)/),
  );
  assert.equal(entityOf({ ...declared, fallback: 'order' }, { PK: { S: 'INVOICE#1' } }, null), 'order');
  assert.throws(
    () =>
      entityOf(
        { kind: 'attribute', attribute: 'type', fallback: 'item', declared: ['order'] },
        { PK: { S: 'x' } },
        { type: { S: 'Invoice' } },
      ),
    conversionError(/"invoice"/),
  );
});

test('the entity rule is checked against the table key schema at start', () => {
  const keySchema = {
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'N' },
    ],
  } as const;
  assert.doesNotThrow(() => checkEntityRule('orders', keyPrefix, keySchema, 'connector.tables[0].entity'));
  assert.throws(
    () => checkEntityRule('orders', { ...keyPrefix, attribute: 'SK' }, keySchema, 'connector.tables[0].entity'),
    /table orders: connector\.tables\[0\]\.entity\.keyPrefix\.attribute SK is a key attribute of type N; the key-prefix rule needs type S/,
  );
  assert.throws(
    () => checkEntityRule('orders', { ...keyPrefix, attribute: 'type' }, keySchema, 'connector.tables[0].entity'),
    /table orders: connector\.tables\[0\]\.entity\.keyPrefix\.attribute type is not a key attribute \(the keys are PK, SK\)/,
  );
  assert.doesNotThrow(() =>
    checkEntityRule(
      'orders',
      { kind: 'attribute', attribute: 'type', fallback: 'item' },
      keySchema,
      'connector.tables[0].entity',
    ),
  );
});

test("config: a key-prefix fallback must be one of the table's entities", () => {
  const config = (fallback: string) => ({
    kafka: { brokers: ['127.0.0.1:9092'] },
    registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
    connector: { tables: [{ name: 'orders', entities: ['order', 'other'], entity: { keyPrefix: { fallback } } }] },
  });
  assert.deepEqual(validateConfig(config('other')).connector.tables[0]!.entity, {
    kind: 'key-prefix',
    attribute: 'PK',
    separator: '#',
    fallback: 'other',
    declared: ['order', 'other'],
  });
  assert.throws(
    () => validateConfig(config('misc')),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.some((problem) =>
        /connector\.tables\[0\]\.entity\.keyPrefix\.fallback: 'misc' is not one of the table's entities \(order, other\)/.test(
          problem,
        ),
      ),
  );
});
