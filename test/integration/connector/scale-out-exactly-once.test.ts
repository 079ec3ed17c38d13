import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { unitOwners } from '../../../connector/scale-out/unit-assigner.ts';
import { unitsTopic } from '../../../connector/scale-out/scaled-connector.ts';
import { createDynamoDb, createKinesis } from '../../../core/aws.ts';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { createStreamTable, streamEventIds, testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { killHard, randomBetween } from '../../harness/processes.ts';
import { readTopics, type ReadMessage } from '../../harness/topic-reader.ts';

const UNITS = 8;
const ITEMS = 60;

interface Instance {
  name: string;
  child: ChildProcess;
  /** Seconds from a revocation (or assignment) until the instance's new units had fenced and loaded, per rebalance. */
  pauses: number[];
}

/** An instance as a process of its own; its log is read for the rebalance pauses and passed on from warnings up. */
function spawnInstance(name: string, env: Record<string, string>): Instance {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../../harness/scaled-connector-process.ts', import.meta.url))],
    {
      env: { ...process.env, ...env, SHARDLINE_LOG_LEVEL: 'info', SHARDLINE_TEST_INSTANCE: name },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const instance: Instance = { name, child, pauses: [] };
  // The whole log stays on disk, for when the test fails.
  const log = createWriteStream(join(tmpdir(), `${env.SHARDLINE_TEST_PREFIX}-${name}.log`));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.write(`${line}\n`);
    let entry: { level?: number; msg?: string; seconds?: number } = {};
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      process.stderr.write(`${name}: ${line}\n`);
      return;
    }
    if (entry.msg === 'units fenced and loaded' && entry.seconds !== undefined) instance.pauses.push(entry.seconds);
    if ((entry.level ?? 0) >= 40 && !/round failed|fenced|rebalancing|not aware of this member/i.test(entry.msg ?? ''))
      process.stderr.write(`${name}: ${line}\n`);
  });
  return instance;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(500);
  }
}

/** Each event id's count, and the ids of the workload record missing from what was read. */
function compare(read: string[], truth: string[]): { doubled: [string, number][]; missing: string[] } {
  const counts = new Map<string, number>();
  for (const id of read) counts.set(id, (counts.get(id) ?? 0) + 1);
  return { doubled: [...counts].filter(([, count]) => count > 1), missing: truth.filter((id) => !counts.has(id)) };
}

test(
  'three instances share a Kinesis stream of 8 shards and a DynamoDB stream; instances SIGKILLed and added mid-workload: every change in Kafka exactly once, in order per item',
  { timeout: 300_000 },
  async (t) => {
    const instances: Instance[] = [];
    t.after(async () => {
      for (const { child } of instances) await killHard(child);
    });
    const aws = testAws();
    const dynamodb = createDynamoDb(aws);
    const kinesis = createKinesis(aws);
    const table = await createStreamTable(dynamodb);
    const kinesisTable = uniqueName('korders');
    const streamName = uniqueName('kds8');
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 8 }));
    while (
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary
        ?.StreamStatus !== 'ACTIVE'
    )
      await sleep(100);

    const prefix = uniqueName('scale');
    t.diagnostic(`prefix ${prefix}, Kinesis stream ${streamName}`);
    const env = {
      SHARDLINE_TEST_PREFIX: prefix,
      SHARDLINE_TEST_TABLE: table,
      SHARDLINE_TEST_KINESIS_STREAM: streamName,
      SHARDLINE_TEST_KINESIS_TABLE: kinesisTable,
      SHARDLINE_TEST_UNITS: String(UNITS),
    };
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
    const dynamoTopic = `${prefix}.${table}.order`;
    const kinesisTopic = `${prefix}.${kinesisTable}.order`;
    await ensureTopics(kafka, [dynamoTopic, kinesisTopic]);
    const groupId = `shardline-connector-${prefix}-connector`;
    const units = unitsTopic(`${prefix}-connector`, `${prefix}.checkpoints`);
    const owners = () => unitOwners(kafka, groupId, units).catch(() => []);

    // The workload's record: every Kinesis change with its item and its number among the item's changes.
    const written: { eventId: string; item: number; n: number; shard: string; sequenceNumber: string }[] = [];
    const perItem = new Array<number>(ITEMS).fill(0);
    let writing = true;
    const kinesisWriter = (async () => {
      while (writing) {
        const item = randomBetween(0, ITEMS);
        const n = ++perItem[item]!;
        const keys = { PK: { S: `ORDER#${item}` }, SK: { S: 'ORDER' } };
        const eventId = randomUUID();
        const data = kinesisChangeRecord({
          table: kinesisTable,
          eventName: n === 1 ? 'INSERT' : 'MODIFY',
          keys,
          newImage: { ...keys, n: { N: String(n) } },
          creationTimeMicros: Date.now() * 1000,
          eventId,
        });
        const { ShardId, SequenceNumber } = await kinesis.send(
          new PutRecordCommand({ StreamName: streamName, PartitionKey: `ORDER#${item}`, Data: data }),
        );
        written.push({ eventId, item, n, shard: ShardId!, sequenceNumber: SequenceNumber! });
        await sleep(randomBetween(1, 8));
      }
    })();
    let dynamoWrites = 0;
    const dynamoWriter = (async () => {
      while (writing) {
        const Key = { PK: { S: `ORDER#${randomBetween(0, 30)}` }, SK: { S: 'ORDER' } };
        if (Math.random() < 0.6)
          await dynamodb.send(
            new PutItemCommand({ TableName: table, Item: { ...Key, total: { N: `${randomBetween(1, 10_000)}.25` } } }),
          );
        else
          await dynamodb.send(
            new UpdateItemCommand({
              TableName: table,
              Key,
              UpdateExpression: 'SET note = :n',
              ExpressionAttributeValues: { ':n': { S: `n${dynamoWrites}` } },
            }),
          );
        dynamoWrites++;
        await sleep(randomBetween(5, 20));
      }
    })();

    for (const name of ['a', 'b', 'c']) instances.push(spawnInstance(name, env));
    await until(async () => (await owners()).length === 3, 60_000, 'three instances share the units');
    const shared = await owners();
    t.diagnostic(
      `units at the start: ${shared.map(({ instance, units: owned }) => `${instance}=[${owned.join(',')}]`).join(' ')}`,
    );
    await sleep(4_000);

    const byName = (name: string) => instances.find((instance) => instance.name === name)!;
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${what} at ${written.length} Kinesis changes`);
    await killHard(byName('b').child);
    mark('b SIGKILLed');
    await sleep(randomBetween(3_000, 6_000));
    instances.push(spawnInstance('d', env));
    mark('d added');
    await sleep(randomBetween(4_000, 7_000));
    await killHard(byName('c').child);
    mark('c SIGKILLed');
    await sleep(randomBetween(1_000, 3_000));
    instances.push(spawnInstance('e', env));
    mark('e added');
    await sleep(6_000);
    writing = false;
    await Promise.all([kinesisWriter, dynamoWriter]);
    t.diagnostic(timeline.join('; '));

    await until(
      async () => {
        const now = await owners();
        return now.length === 3 && now.flatMap(({ units: owned }) => owned).length === UNITS;
      },
      60_000,
      'a, d and e share every unit',
    );
    const final = await owners();
    assert.deepEqual(final.map(({ instance }) => instance).sort(), ['a', 'd', 'e']);
    t.diagnostic(
      `units at the end: ${final.map(({ instance, units: owned }) => `${instance}=[${owned.join(',')}]`).join(' ')}`,
    );

    const dynamoTruth = await streamEventIds(table);
    const expected = written.length + dynamoTruth.length;
    const started = performance.now();
    await readTopics(kafka, [kinesisTopic, dynamoTopic], (messages) => messages.length >= expected, 120_000);
    t.diagnostic(`caught up ${Math.round(performance.now() - started)} ms after the workload ended`);
    // A little longer, so that a duplicate would show.
    const read = await readTopics(kafka, [kinesisTopic, dynamoTopic], (messages) => messages.length > expected, 5_000);
    const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
    const events = await Promise.all(
      read.map(async ({ topic, partition, message }: ReadMessage) => ({
        topic,
        partition,
        offset: BigInt(message.offset),
        event: await codec.decode(message.value!),
      })),
    );

    const kinesisEvents = events.filter(({ topic }) => topic === kinesisTopic);
    const kinesisCheck = compare(
      kinesisEvents.map(({ event }) => event.eventId),
      written.map(({ eventId }) => eventId),
    );
    assert.deepEqual(kinesisCheck.doubled, [], 'no Kinesis change twice');
    const missing = written.flatMap((change, index) =>
      kinesisCheck.missing.includes(change.eventId) ? [{ index, ...change }] : [],
    );
    assert.deepEqual(missing, [], `no Kinesis change missing (instance logs: ${join(tmpdir(), prefix)}-*.log)`);
    assert.equal(kinesisEvents.length, written.length);
    const dynamoEvents = events.filter(({ topic }) => topic === dynamoTopic);
    const dynamoCheck = compare(
      dynamoEvents.map(({ event }) => event.eventId),
      dynamoTruth,
    );
    assert.deepEqual(dynamoCheck.doubled, [], 'no DynamoDB change twice');
    assert.deepEqual(dynamoCheck.missing, [], 'no DynamoDB change missing');
    assert.equal(dynamoEvents.length, dynamoTruth.length);

    // Each item's changes, in the order its Kafka partition holds them, are the order the workload made them.
    const order = new Map<string, number[]>();
    for (const { event } of kinesisEvents.sort((x, y) => x.partition - y.partition || (x.offset < y.offset ? -1 : 1))) {
      const item = event.keys.PK!.S!;
      order.set(item, [...(order.get(item) ?? []), Number(event.after!.n!.N)]);
    }
    for (const [item, numbers] of order)
      assert.deepEqual(
        numbers,
        numbers.toSorted((x, y) => x - y),
        `${item}: changes in the order they were made`,
      );

    const pauses = instances.flatMap(({ name, pauses: seconds }) =>
      seconds.map((value) => `${name} ${value.toFixed(2)} s`),
    );
    t.diagnostic(
      `${written.length} Kinesis and ${dynamoTruth.length} DynamoDB changes; rebalance pauses (revocation to units fenced and loaded): ${pauses.join(', ')}`,
    );
    assert.ok(written.length > 200 && dynamoTruth.length > 100, 'the workload made enough changes');
    for (const instance of instances.filter(({ child }) => child.exitCode === null && child.signalCode === null)) {
      instance.child.kill('SIGTERM');
      await new Promise((resolve) => instance.child.once('exit', resolve));
    }
    dynamodb.destroy();
    kinesis.destroy();
  },
);
