import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { changeEventSchema, fromAvro, type AvroChangeEvent, type ChangeEvent } from '../../../schemas/change-event.ts';
import { ChangeEventCodec, valueSubject } from '../../../schemas/registry.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

const event: ChangeEvent = {
  op: 'MODIFY',
  eventId: 'e1',
  table: 'orders',
  entity: 'order',
  version: '4421584500000000017450439091',
  keys: { PK: { S: 'ORDER#1' } },
  before: { PK: { S: 'ORDER#1' }, total: { N: '1.10' } },
  after: { PK: { S: 'ORDER#1' }, total: { N: '2.20' } },
  source: {
    kind: 'DYNAMODB_STREAMS',
    region: 'us-east-1',
    table: 'orders',
    stream: 's',
    shardId: 'sh',
    sequenceNumber: '4421584500000000017450439091',
    approximateCreationTimeMicros: 1_764_000_000_000_001,
    userIdentity: null,
    ttlDelete: false,
  },
};

test('the change-event schema evolves under BACKWARD: an optional field is accepted and old events still decode; a required one is refused', async () => {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl }, 'BACKWARD');
  const topic = uniqueName('evolve');
  const encoded = await codec.encode(topic, event);
  const v1 = JSON.parse(changeEventSchema) as { fields: unknown[] };

  const v2 = { ...v1, fields: [...v1.fields, { name: 'tenant', type: ['null', 'string'], default: null }] };
  const { id } = await codec.registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v2) },
    { subject: valueSubject(topic) },
  );
  assert.notEqual(id, await codec.schemaId(topic));
  const read = (await codec.registry.decode(encoded, {
    [SchemaType.AVRO]: { readerSchema: v2 as never },
  })) as AvroChangeEvent & { tenant: string | null };
  assert.equal(read.tenant, null);
  assert.deepEqual(fromAvro(read), { ...event, tenant: null });

  const v3 = { ...v1, fields: [...v1.fields, { name: 'tenant', type: 'string' }] };
  await assert.rejects(
    codec.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject: valueSubject(topic) }),
  );
});
