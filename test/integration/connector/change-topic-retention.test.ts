import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { Kafka } from 'kafkajs';
import { createKinesis } from '../../../core/aws.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { Connector, type ConnectorOptions } from '../../../connector/connector.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

async function topicConfig(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: 2, name: topic }],
      includeSynonyms: false,
    });
    return Object.fromEntries(resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]));
  } finally {
    await admin.disconnect();
  }
}

/** Runs a connector over one Kinesis change and returns its change topic. */
async function runOnce(
  topics: Partial<ConnectorOptions['topics']>,
  before?: (topic: string, kafka: Kafka) => Promise<void>,
): Promise<{ topic: string; kafka: Kafka }> {
  const kinesis = createKinesis(testAws());
  const StreamName = uniqueName('kds-retention');
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
  while (
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus !==
    'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER' } };
  await kinesis.send(
    new PutRecordCommand({
      StreamName,
      PartitionKey: 'ORDER#1',
      Data: kinesisChangeRecord({
        table: 'orders',
        eventName: 'INSERT',
        keys,
        newImage: keys,
        creationTimeMicros: 1_764_000_000_000_000,
      }),
    }),
  );
  const prefix = uniqueName('ret');
  const base = baseConnectorOptions(prefix);
  const options = {
    ...base,
    topics: { ...base.topics, ...topics },
    sources: [
      new KinesisSource(kinesis, {
        table: 'orders',
        streamName: StreamName,
        region: 'us-east-1',
        entityRule: { kind: 'fixed', name: 'order' } as const,
      }),
    ],
  };
  const topic = `${prefix}.orders.order`;
  await before?.(topic, options.kafka);
  const connector = new Connector(options);
  const running = connector.start();
  try {
    await waitForTopics(options.kafka, [topic]);
    await readTopics(options.kafka, [topic], (messages) => messages.length >= 1);
  } finally {
    await connector.stop();
    await running.catch(() => undefined);
    kinesis.destroy();
  }
  return { topic, kafka: options.kafka };
}

test('change topics keep their whole history by default (retention.ms=-1), also when created before the connector ran', async () => {
  const created = await runOnce({});
  const config = await topicConfig(created.kafka, created.topic);
  assert.equal(config['retention.ms'], '-1');
  assert.equal(config['cleanup.policy'], 'delete');

  // Created ahead of the connector, as `shardline run` does for the configured entities.
  const early = await runOnce({}, (topic, kafka) => ensureTopics(kafka, [topic]));
  assert.equal((await topicConfig(early.kafka, early.topic))['retention.ms'], '-1');
});

test('a configured finite retention, or compaction that keeps REMOVE events for deleteRetentionMs', async () => {
  const finite = await runOnce({ retentionMs: 30 * 86_400_000 });
  assert.equal((await topicConfig(finite.kafka, finite.topic))['retention.ms'], String(30 * 86_400_000));

  // Created ahead of the connector with the default policy: the connector alters it to the configured one.
  const compacted = await runOnce(
    { compaction: { deleteRetentionMs: 3 * 86_400_000 }, tombstones: true },
    (topic, kafka) => ensureTopics(kafka, [topic]),
  );
  const config = await topicConfig(compacted.kafka, compacted.topic);
  assert.equal(config['cleanup.policy'], 'compact');
  assert.equal(config['delete.retention.ms'], String(3 * 86_400_000));
  // A REMOVE event is not compacted away by its tombstone before consumers had that long to read it.
  assert.equal(config['min.compaction.lag.ms'], String(3 * 86_400_000));
});
