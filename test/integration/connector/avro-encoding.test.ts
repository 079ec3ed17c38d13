import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromAvro, toAvro, type AvroChangeEvent, type ChangeEvent } from '../../../schemas/change-event.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

function event(index: number, padding = 0): ChangeEvent {
  const keys = { PK: { S: `ORDER#${index}` }, SK: { N: String(index) } };
  return {
    op: index % 2 ? 'MODIFY' : 'INSERT',
    eventId: `e${index}`,
    table: 'orders',
    entity: 'order',
    version: String(4421584500000000017450439091n + BigInt(index)),
    keys,
    before: index % 2 ? { ...keys, total: { N: '1.10' } } : null,
    after: {
      ...keys,
      total: { N: '2.20' },
      note: { S: `ünïcödé ${'x'.repeat(padding)}` },
      blob: { B: Buffer.from([index & 255, 0, 255]) },
      paid: { BOOL: true },
      gone: { NULL: true },
      tags: { SS: ['a', 'b'] },
      sizes: { NS: ['1', '2.5'] },
      blobs: { BS: [Buffer.from('q')] },
      items: { L: [{ M: { sku: { S: 'SKU-1' }, qty: { N: '2' } } }] },
    },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: String(index),
      approximateCreationTimeMicros: 1_764_000_000_000_001 + index,
      userIdentity: index % 3 ? null : { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      ttlDelete: false,
    },
  };
}

test('events are encoded as the registry client encodes them, and stay unchanged however many follow', async () => {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const topic = uniqueName('avro');
  const schemaId = await codec.schemaId(topic);
  const encode = await codec.encoder(topic);
  // Enough events to fill several arenas, and one larger than an arena.
  const events = Array.from({ length: 6000 }, (_, index) => event(index, index === 2500 ? 1_500_000 : index % 50));
  const written = events.map((item) => encode(item));
  for (const [index, item] of events.entries()) {
    assert.deepEqual(written[index], await codec.registry.encode(schemaId, toAvro(item)), `event ${index}`);
  }
  assert.deepEqual(await codec.decode(written[2500]!), events[2500]);
  assert.deepEqual(await codec.encode(topic, events[7]!), written[7]);
});

test('a value avsc cannot write fails with the message the registry client gave', async () => {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const topic = uniqueName('avro');
  const bad = { ...event(1), op: 'UPSERT' } as unknown as ChangeEvent;
  const expected = await codec.registry.encode(await codec.schemaId(topic), toAvro(bad)).then(
    () => undefined,
    (error: Error) => error.message,
  );
  assert.ok(expected);
  await assert.rejects(codec.encode(topic, bad), { message: expected });
});

test('events are decoded as the registry client decodes them, the first of an id and the ones after', async () => {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const encode = await codec.encoder(uniqueName('avro'));
  const written = Array.from({ length: 50 }, (_, index) => encode(event(index, index)));
  for (const [index, value] of written.entries()) {
    assert.deepEqual(
      await codec.decode(value),
      fromAvro((await codec.registry.decode(value)) as AvroChangeEvent),
      `event ${index}`,
    );
  }
  const wrongMagic = Buffer.from(written[0]!);
  wrongMagic[0] = 1;
  const expected = await codec.registry.decode(wrongMagic).then(
    () => undefined,
    (error: Error) => error.message,
  );
  await assert.rejects(codec.decode(wrongMagic), { message: expected });
  const truncated = written[1]!.subarray(0, 20);
  const truncatedMessage = await codec.registry.decode(truncated).then(
    () => undefined,
    (error: Error) => error.message,
  );
  await assert.rejects(codec.decode(truncated), { message: truncatedMessage });
});
