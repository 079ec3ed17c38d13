import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { listDeadLetters, replayDeadLetters } from '../../../cli/commands/dlq.ts';
import { buildConnector, buildSources, kafkaOf } from '../../../cli/pipeline.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { loadConfig } from '../../../cli/config/load.ts';
import type { ShardlineConfig } from '../../../cli/config/schema.ts';
import { deadLetterMessage } from '../../../core/dead-letter.ts';
import { canonicalKey } from '../../../schemas/change-event.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { createStreamTable, testAws } from '../../harness/connector.ts';
import { cacheSink, testGroup } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { readTopics } from '../../harness/topic-reader.ts';
import { idempotentProducer } from '../../harness/producer.ts';

/** The project's configuration, narrowed to one fresh table and topics of this test. */
function configFor(table: string, prefix: string, maxMessageBytes: number): ShardlineConfig {
  const base = loadConfig(new URL('../../../shardline.yaml', import.meta.url).pathname);
  return {
    ...base,
    connector: {
      ...base.connector,
      name: `${prefix}-connector`,
      tables: base.connector.tables.map((tableConfig) => ({
        ...tableConfig,
        name: table,
        snapshot: { ...tableConfig.snapshot, enabled: false },
      })),
      topics: {
        ...base.connector.topics,
        template: `${prefix}.{table}.{entity}`,
        checkpoints: `${prefix}.checkpoints`,
        deadLetter: `${prefix}.dlq`,
      },
      maxMessageBytes,
    },
  };
}

test('dlq replay: a connector dead letter is converted again into the event the stream record makes; one that cannot be is reported and kept', async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName('replay');
  const put = (id: number, note: string) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          PK: { S: `ORDER#${id}` },
          SK: { S: 'ORDER' },
          total: { N: '12.50' },
          note: { S: note },
          tag: { B: new Uint8Array([0, 1, 2, 255]) },
        },
      }),
    );
  await put(1, 'small');
  await put(2, 'x'.repeat(6_000));

  // Order 2 is over the event limit: dead-lettered, and its record is cut to fit the dead-letter topic too.
  const config = configFor(table, prefix, 4_000);
  const kafka = kafkaOf(config, 'test');
  const topic = `${prefix}.${table}.order`;
  const connector = await buildConnector(config);
  const running = connector.start();
  const delivered = await readTopics(kafka, [topic], (messages) => messages.length >= 1, 30_000);
  await connector.stop();
  await running;

  // Order 1's stream record dead-lettered as the connector does when a conversion fails (same message,
  // same raw record from the real source), standing in for a conversion bug fixed by an upgrade.
  const [source] = (await buildSources(config)).sources;
  const [shard] = await source!.listShards();
  const { records } = await source!.read(
    shard!.shardId,
    await source!.iterator(shard!.shardId, { type: 'TRIM_HORIZON' }),
    10,
  );
  const record = records.find((candidate) => candidate.toEvent().keys.PK?.S === 'ORDER#1')!;
  const producer = idempotentProducer(kafka);
  await producer.connect();
  const origin = {
    stage: 'connector',
    source: source!.streamId,
    shard: shard!.shardId,
    position: record.sequenceNumber,
    table,
    version: record.version,
  };
  // The same letter as a Shardline before stream versions began with the stream's creation time wrote it.
  const olderOrigin: Omit<typeof origin, 'version'> & { version?: string } = { ...origin };
  delete olderOrigin.version;
  const letterOf = (from: typeof olderOrigin, reason: string) =>
    deadLetterMessage(from, reason, record.raw(), canonicalKey(record.toEvent().keys), 4_000);
  await producer.send({
    topic: config.connector.topics.deadLetter,
    messages: [
      letterOf(origin, 'conversion failed (simulated)'),
      letterOf(olderOrigin, 'conversion failed (simulated, older Shardline)'),
    ],
  });
  await producer.disconnect();

  const letters = await listDeadLetters(config, 10);
  assert.equal(letters.length, 3);
  assert.match(letters[0]!.reason, /^the event is \d+ bytes, over the 4000-byte limit$/);
  assert.equal(letters[1]!.reason, 'conversion failed (simulated)');
  const result = await replayDeadLetters(config, letters);
  assert.equal(result.replayed, 2);
  assert.equal(result.failed.length, 1);
  assert.match(result.failed[0]!.reason, /cut to fit the dead-letter topic; re-snapshot the table/);

  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const read = await readTopics(kafka, [topic], (messages) => messages.length >= 3, 30_000);
  const [original, replayed, olderReplayed] = await Promise.all(
    read.map(async ({ message }) => codec.decode(message.value!)),
  );
  assert.equal(read.length, 3);
  assert.equal(delivered.length, 1);
  // Binary values, the version and the source position survive the round trip.
  assert.deepEqual(replayed, original);
  // An older Shardline's letter keeps the version that Shardline gave the change (its sequence number): the
  // sinks hold the item's later changes under such versions, which a longer one would wrongly beat.
  assert.deepEqual(olderReplayed, { ...original, version: record.sequenceNumber });
  assert.equal(
    (await listDeadLetters(config, 10)).length,
    3,
    'the dead-letter topic is a log: both letters are still there',
  );
  dynamodb.destroy();
});

test("dlq replay: a consumer group's dead letter goes back on its topic byte for byte", async (t) => {
  const prefix = uniqueName('replay-group');
  const config = configFor('orders', prefix, 1_000_000);
  const kafka = kafkaOf(config, 'test');
  const topic = `${prefix}.orders.order`;
  await ensureTopics(kafka, [topic]);
  const poison = Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'PK=S:ORDER#1|SK=S:ORDER', value: poison }] });
  await producer.disconnect();

  const group = testGroup(prefix, 'cache', [topic], cacheSink(prefix));
  await group.start();
  t.after(() => group.stop());
  let letters = await listDeadLetters(config, 10);
  for (
    const deadline = Date.now() + 30_000;
    letters.length === 0 && Date.now() < deadline;
    letters = await listDeadLetters(config, 10)
  ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.stage, `${prefix}-cache`);

  assert.deepEqual(await replayDeadLetters(config, letters), { replayed: 1, failed: [] });
  const read = await readTopics(kafka, [topic], (messages) => messages.length >= 2, 30_000);
  assert.deepEqual(
    read.map(({ message }) => [message.key?.toString(), message.value]),
    [
      ['PK=S:ORDER#1|SK=S:ORDER', poison],
      ['PK=S:ORDER#1|SK=S:ORDER', poison],
    ],
  );
});

test("dlq replay: a re-snapshot row's dead letter goes back with its run's version, above the sweep that deleted the item", async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName('replay-scan');
  const config = configFor(table, prefix, 1_000_000);
  const kafka = kafkaOf(config, 'test');
  const item = { PK: { S: 'ORDER#7' }, SK: { S: 'ORDER#7' }, total: { N: '7.70' } };
  await ensureTopics(kafka, [config.connector.topics.deadLetter], 1);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  // As the connector writes a re-read row of run 'resnapshot-3' (version 900) it could not convert.
  const origin = {
    stage: 'connector',
    source: `snapshot:${table}:resnapshot-3`,
    shard: 'segment-0',
    position: JSON.stringify({ PK: item.PK, SK: item.SK }),
    table,
    version: '900',
  };
  await producer.send({
    topic: config.connector.topics.deadLetter,
    messages: [deadLetterMessage(origin, 'conversion failed (simulated)', item, canonicalKey(item), 1_000_000)],
  });
  await producer.disconnect();
  const result = await replayDeadLetters(config, await listDeadLetters(config, 10));
  assert.deepEqual(result, { replayed: 1, failed: [] });
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const [replayed] = await readTopics(kafka, [`${prefix}.${table}.order`], (messages) => messages.length >= 1, 30_000);
  const event = await codec.decode(replayed!.message.value!);
  assert.equal(event.op, 'SNAPSHOT');
  // Version 0 would sit below the run's sweep (899), and every sink would drop the row.
  assert.equal(event.version, '900');
  dynamodb.destroy();
});
