import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connector, type ConnectorOptions } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { GapError } from '../../../connector/shards/shard-reader.ts';
import { loadCheckpoints } from '../../../connector/checkpoints.ts';
import { parseCheckpointKey, parseSnapshotStreamId } from '../../../connector/checkpoint-keys.ts';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../../core/aws.ts';
import { SnapshotSource } from '../../../connector/snapshot/snapshot-source.ts';
import { createOrdersTable } from '../../../cli/demo/workload.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { SimulatedStream, simulatedRecords, type SimulatedShard } from '../../harness/simulated-streams.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

// The AWS client is scripted (the emulator has one shard that never splits); Kafka and the registry are real.
async function simulatedConnector(
  shards: SimulatedShard[],
  overrides: Partial<ConnectorOptions> = {},
  table = 'orders',
) {
  const prefix = uniqueName('sim');
  const stream = new SimulatedStream(
    `arn:aws:dynamodb:us-east-1:0:table/${prefix}/stream/2026-01-01T00:00:00.000`,
    shards,
  );
  const source = new DynamoDbStreamSource(stream.client(), {
    table,
    streamArn: stream.streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const options = { ...baseConnectorOptions(prefix), sources: [source], ...overrides };
  return { stream, options, topic: `${prefix}.${table}.order` };
}

/** Event ids with their partition, in the order each partition holds them. */
async function eventsIn(
  options: ConnectorOptions,
  topic: string,
  count: number,
): Promise<{ id: string; partition: number }[]> {
  await waitForTopics(options.kafka, [topic]);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= count, 20_000);
  return Promise.all(
    read.map(async ({ message, partition }) => ({ id: (await codec.decode(message.value!)).eventId, partition })),
  );
}

const eventIdsIn = async (options: ConnectorOptions, topic: string, count: number): Promise<string[]> =>
  (await eventsIn(options, topic, count))
    .map((event) => event.id)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

test('after a split, the parent shard is written before its children, each record once', async () => {
  const { options, topic } = await simulatedConnector([
    { shardId: 'parent', closed: true, records: simulatedRecords('p', 0, 7) },
    { shardId: 'left', parentShardId: 'parent', closed: false, records: simulatedRecords('l', 100, 4) },
    { shardId: 'right', parentShardId: 'parent', closed: false, records: simulatedRecords('r', 200, 4) },
  ]);
  const connector = new Connector(options);
  const running = connector.start();
  const events = await eventsIn(options, topic, 15);
  await connector.stop();
  await running;
  assert.equal(events.length, 15);
  assert.equal(new Set(events.map((event) => event.id)).size, 15);
  // Within each partition (the unit of order a consumer sees), parent records come first.
  for (const partition of new Set(events.map((event) => event.partition))) {
    const ids = events.filter((event) => event.partition === partition).map((event) => event.id);
    const lastParent = ids.findLastIndex((id) => id.startsWith('p-'));
    const firstChild = ids.findIndex((id) => !id.startsWith('p-'));
    assert.ok(firstChild === -1 || lastParent < firstChild, `partition ${partition}: ${ids.join(' ')}`);
  }
});

/**
 * A connector reads three records and stops; while it is away the stream gets seven more and trims
 * the first six, three of which it never read. Returns what a second run needs.
 */
async function trimmedWhileAway(name: string, overrides: Partial<ConnectorOptions>, table?: string) {
  const records = simulatedRecords(name, 0, 10);
  const setup = await simulatedConnector(
    [{ shardId: 'trimmed', closed: false, records: records.slice(0, 3) }],
    overrides,
    table,
  );
  const first = new Connector(setup.options);
  const running = first.start();
  await eventIdsIn(setup.options, setup.topic, 3);
  await first.stop();
  await running;
  setup.stream.shards[0]!.records = records;
  setup.stream.shards[0]!.trimmedBefore = 6;
  return { ...setup, records };
}

test('gap policy fail: a trimmed shard stops the connector with the shard and the lost position', async () => {
  const { options, records } = await trimmedWhileAway('t', {});
  const second = new Connector(options);
  await assert.rejects(
    second.start().then(() => second.failed),
    (error: unknown) =>
      error instanceof GapError &&
      error.shardId === 'trimmed' &&
      error.afterSequenceNumber === records[2]!.sequenceNumber,
  );
  await second.stop();
});

test('gap policy skip: the gap is reported and reading goes on from the oldest record held', async () => {
  const { options, topic } = await trimmedWhileAway('s', { gapPolicy: 'skip' });
  const second = new Connector(options);
  const secondRun = second.start();
  const ids = await eventIdsIn(options, topic, 7);
  await second.stop();
  await secondRun;
  assert.deepEqual(ids, ['s-0', 's-1', 's-2', 's-6', 's-7', 's-8', 's-9']);
});

test('records read before the trim catches up with a shard in the middle of a round are written; the gap comes after them', async () => {
  const records = simulatedRecords('m', 0, 2500);
  const { stream, options, topic } = await simulatedConnector([{ shardId: 'racing', closed: false, records }], {
    gapPolicy: 'skip',
  });
  // Two full pages are read; before the third, the trim passes the reader's position (as it does for a
  // connector a day behind, reading records as they age out).
  const client = stream.client();
  let reads = 0;
  const send = client.send.bind(client);
  (client as { send: (command: unknown) => Promise<unknown> }).send = (command: unknown) => {
    if ((command as object).constructor.name === 'GetRecordsCommand' && ++reads === 3)
      stream.shards[0]!.trimmedBefore = 2200;
    return send(command as never);
  };
  const source = new DynamoDbStreamSource(client, {
    table: 'orders',
    streamArn: stream.streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const connector = new Connector({ ...options, sources: [source] });
  const running = connector.start();
  const ids = await eventIdsIn(options, topic, 2300);
  await connector.stop();
  await running;
  assert.equal(ids.length, 2300);
  assert.deepEqual(
    ids,
    [...records.slice(0, 2000), ...records.slice(2200)].map((record) => record.id),
  );
});

test('gap policy resnapshot: reading goes on and a re-scan of the table covers the lost window', async () => {
  // The scan reads a real (emulator) table of four items, named like the scripted stream's table.
  const dynamodb = createDynamoDb(testAws());
  const table = uniqueName('orders');
  await createOrdersTable(dynamodb, table);
  const key = (id: number) => ({ PK: { S: `ORDER#r${id}` }, SK: { S: `ORDER#r${id}` } });
  for (let id = 0; id < 4; id++)
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...key(id), total: { N: '1.00' } } }));
  const snapshotFactory = (name: string, run: string, version: string) =>
    new SnapshotSource(dynamodb, {
      table: name,
      region: 'us-east-1',
      entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
      segments: 2,
      readCapacityPerSecond: 0,
      run,
      version,
    });
  const { options, topic } = await trimmedWhileAway('r', { gapPolicy: 'resnapshot', snapshotFactory }, table);
  const second = new Connector(options);
  const secondRun = second.start();
  await waitForTopics(options.kafka, [topic]);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= 7 + 4 + 1, 20_000);
  await second.stop();
  await secondRun;
  const events = await Promise.all(read.map(async ({ message }) => codec.decode(message.value!)));
  const rescanned = events.filter((event) => event.op === 'SNAPSHOT');
  assert.deepEqual(
    rescanned.map((event) => event.keys.PK?.S).sort(),
    ['ORDER#r0', 'ORDER#r1', 'ORDER#r2', 'ORDER#r3'],
    "the re-scan wrote the table's rows",
  );
  assert.ok(rescanned.every((event) => event.source.stream.startsWith(`snapshot:${table}:resnapshot-`)));
  const streamed = events.filter((event) => event.op !== 'SNAPSHOT' && event.op !== 'SWEEP');
  assert.deepEqual(streamed.map((event) => event.eventId).sort(), ['r-0', 'r-1', 'r-2', 'r-6', 'r-7', 'r-8', 'r-9']);
  // The re-scan's rows order above what was written before the gap, and one sweep closes the run.
  const before = streamed
    .filter((event) => ['r-0', 'r-1', 'r-2'].includes(event.eventId))
    .map((event) => BigInt(event.version));
  assert.ok(rescanned.every((event) => before.every((version) => BigInt(event.version) > version)));
  const sweeps = events.filter((event) => event.op === 'SWEEP');
  assert.deepEqual(
    sweeps.map((event) => [event.entity, event.version]),
    [['order', rescanned[0]!.version]],
  );
  dynamodb.destroy();
});

test('a re-snapshot run keeps its version in its checkpoints when its segments read nothing (an emptied table), so a restart resumes it at that version', async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = uniqueName('orders');
  await createOrdersTable(dynamodb, table);
  const snapshotFactory = (name: string, run: string, version: string) =>
    new SnapshotSource(dynamodb, {
      table: name,
      region: 'us-east-1',
      entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
      segments: 2,
      readCapacityPerSecond: 0,
      run,
      version,
    });
  const { options } = await trimmedWhileAway('e', { gapPolicy: 'resnapshot', snapshotFactory }, table);
  const second = new Connector(options);
  const secondRun = second.start();
  const runCheckpoints = async () =>
    [...(await loadCheckpoints(options.kafka, options.topics.checkpoints, options.name))].flatMap(
      ([key, checkpoint]) => {
        const parsed = parseCheckpointKey(key);
        return parsed && parseSnapshotStreamId(parsed.stream)?.run ? [{ shard: parsed.shard, checkpoint }] : [];
      },
    );
  const deadline = Date.now() + 30_000;
  let checkpoints = await runCheckpoints();
  while (
    !checkpoints.some(({ shard, checkpoint }) => shard === 'segment-0' && checkpoint.finished) &&
    Date.now() < deadline
  )
    checkpoints = await runCheckpoints();
  await second.stop();
  await secondRun;
  const segment = checkpoints.find(({ shard }) => shard === 'segment-0');
  assert.ok(segment?.checkpoint.finished, "the run's first segment finished");
  assert.match(segment.checkpoint.version ?? '', /^\d+$/, "the finished segment still carries the run's version");
  dynamodb.destroy();
});

test('a round larger than the broker accepts in one request is sent in parts of one transaction', async () => {
  // 3,000 records of about 2 KB: one round holds ~6 MB, far over the broker's 1 MB per request.
  const records = simulatedRecords('big', 0, 3_000).map((record) => ({
    ...record,
    newImage: { PK: { S: `ORDER#${record.id}` }, blob: { S: 'x'.repeat(2_000) } },
  }));
  const { options, topic } = await simulatedConnector([{ shardId: 'big', closed: false, records }], {});
  options.polling = { ...options.polling, recordsPerRound: 5_000 };
  const connector = new Connector(options);
  const running = connector.start();
  const ids = await eventIdsIn(options, topic, 3_000);
  await connector.stop();
  await running;
  assert.equal(new Set(ids).size, 3_000);
});
