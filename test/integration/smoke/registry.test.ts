import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

test('an Avro schema registers, a record round-trips, and a BACKWARD-incompatible change is refused', async () => {
  const registry = new SchemaRegistry({ host: testEndpoints().registryUrl });
  const subject = uniqueName('smoke-value');
  const v1 = {
    type: 'record',
    name: 'Order',
    namespace: 'dev.shardline.smoke',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'total', type: 'string' },
    ],
  };
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
    { subject, compatibility: COMPATIBILITY.BACKWARD },
  );

  const encoded = await registry.encode(id, { id: 'ORDER#1', total: '12345678901234567890.12' });
  assert.equal(encoded[0], 0, 'Confluent wire format starts with the magic byte');
  assert.equal(encoded.readInt32BE(1), id);
  assert.deepEqual({ ...(await registry.decode(encoded)) }, { id: 'ORDER#1', total: '12345678901234567890.12' });

  // A new required field without a default cannot read old records: BACKWARD forbids it.
  const incompatible = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string' }] };
  await assert.rejects(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }));
  // With a default it is compatible, and gets a new id.
  const compatible = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
  const second = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(compatible) }, { subject });
  assert.notEqual(second.id, id);
});
