import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureUnitsTopic } from '../../../connector/scale-out/unit-membership.ts';
import { ConfigurationError } from '../../../core/errors.ts';
import { createKafka } from '../../../core/kafka.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

test('the units topic is created with one partition per unit; an instance configured with another count is refused', async () => {
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
  const topic = uniqueName('units');
  await ensureUnitsTopic(kafka, topic, 6);
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length, 6);
  } finally {
    await admin.disconnect();
  }
  await ensureUnitsTopic(kafka, topic, 6);
  await assert.rejects(
    ensureUnitsTopic(kafka, topic, 8),
    (error: unknown) =>
      error instanceof ConfigurationError &&
      /^connector\.scaleOut\.units: 8, but the units topic .* has 6 partitions/.test(error.message),
  );
});
