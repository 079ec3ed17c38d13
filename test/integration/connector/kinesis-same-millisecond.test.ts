import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { createKinesis } from '../../../core/aws.ts';
import { Connector } from '../../../connector/connector.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { compareVersions, type ChangeEvent } from '../../../schemas/change-event.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

interface Change {
  item: number;
  step: number;
  eventId: string;
  creationTimeMicros: number;
  data: Buffer;
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/**
 * Each item's history at millisecond precision: pairs of changes share a millisecond; even items end
 * with a PutItem then a DeleteItem in one millisecond. Items write their times without the precision
 * field every third item, as older records do.
 */
function histories(table: string, items: number): Change[][] {
  const base = 1_764_000_000_000_000;
  return Array.from({ length: items }, (_, item) => {
    const keys = { PK: { S: `ORDER#${item}` }, SK: { S: 'ORDER' } };
    const precision = item % 3 === 0 ? ('unstated' as const) : ('MILLISECOND' as const);
    const steps = 6;
    return Array.from({ length: steps }, (_, step) => {
      const creationTimeMicros = base + Math.floor(step / 2) * 1000 + item;
      const eventName = step === 0 ? 'INSERT' : item % 2 === 0 && step === steps - 1 ? 'REMOVE' : 'MODIFY';
      const image = { ...keys, step: { N: String(step) } };
      const eventId = `${table}-${item}-${step}`;
      const data = kinesisChangeRecord({
        table,
        eventName,
        keys,
        eventId,
        creationTimeMicros,
        precision,
        newImage: eventName === 'REMOVE' ? undefined : image,
        oldImage: eventName === 'INSERT' ? undefined : { ...keys, step: { N: String(step - 1) } },
      });
      return { item, step, eventId, creationTimeMicros, data };
    });
  });
}

/**
 * Each item's neighbouring changes swapped where their times differ (the newer one arrives first; a tie
 * keeps its order, which its sequence numbers then give), items interleaved, ~10% copies a little later.
 */
function deliveryOrder(changes: Change[][], next: () => number): Change[] {
  const swapped = changes.map((history) => {
    const order = [...history];
    for (let i = 0; i + 1 < order.length; i++) {
      const [a, b] = [order[i]!, order[i + 1]!];
      if (a.creationTimeMicros !== b.creationTimeMicros && next() < 0.4) [order[i], order[i + 1]] = [b, a];
    }
    return order;
  });
  const order: Change[] = [];
  for (let step = 0; swapped.some((history) => history[step]); step++)
    for (const history of swapped) if (history[step]) order.push(history[step]!);
  const withCopies: Change[] = [];
  const late: Array<{ at: number; change: Change }> = [];
  order.forEach((change, index) => {
    withCopies.push(change, ...late.filter(({ at }) => at === index).map(({ change: copy }) => copy));
    if (next() < 0.1) late.push({ at: index + 1 + Math.floor(next() * 3), change });
  });
  return withCopies;
}

async function createStream(kinesis: KinesisClient): Promise<string> {
  const StreamName = uniqueName('kds-ms');
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 2 }));
  while (
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus !==
    'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return StreamName;
}

test('Kinesis at millisecond precision: same-millisecond changes ordered by sequence number, duplicates removed across a restart', async () => {
  const kinesis = createKinesis(testAws());
  const StreamName = await createStream(kinesis);
  const table = uniqueName('orders');
  const put = async (changes: Change[]) => {
    for (const change of changes)
      await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: `ORDER#${change.item}`, Data: change.data }));
  };
  const items = histories(table, 8);
  const all = items.flat();
  const delivered = deliveryOrder(items, random(7));
  const cut = Math.floor(delivered.length * 0.6);

  const prefix = uniqueName('kinms');
  const options = () => ({
    ...baseConnectorOptions(prefix),
    sources: [
      new KinesisSource(kinesis, {
        table,
        streamName: StreamName,
        region: 'us-east-1',
        entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } as const,
      }),
    ],
  });
  const topic = `${prefix}.${table}.order`;
  const distinct = (changes: Change[]) => new Set(changes.map((change) => change.eventId)).size;
  const run = async (expected: number): Promise<void> => {
    const connectorOptions = options();
    const connector = new Connector(connectorOptions);
    const running = connector.start();
    await waitForTopics(connectorOptions.kafka, [topic]);
    await readTopics(connectorOptions.kafka, [topic], (messages) => messages.length >= expected);
    await connector.stop();
    await running;
  };

  await put(delivered.slice(0, cut));
  await run(distinct(delivered.slice(0, cut)));
  // After the restart: copies of records committed before it, then the rest.
  const before = delivered.slice(0, cut);
  await put([before[0]!, before[3]!, before[cut - 1]!, before[Math.floor(cut / 2)]!]);
  await put(delivered.slice(cut));
  await run(all.length);

  const kafka = options().kafka;
  const read = await readTopics(kafka, [topic], (messages) => messages.length > all.length, 5_000);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const events: ChangeEvent[] = await Promise.all(read.map(({ message }) => codec.decode(message.value!)));
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.eventId, (counts.get(event.eventId) ?? 0) + 1);
  assert.deepEqual(
    [...counts].filter(([, count]) => count !== 1),
    [],
    'every change exactly once',
  );
  assert.deepEqual([...counts.keys()].sort(), all.map((change) => change.eventId).sort());

  for (const history of items) {
    const ofItem = events.filter((event) => event.keys.PK?.S === `ORDER#${history[0]!.item}`);
    const newest = ofItem.reduce((a, b) => (compareVersions(a.version, b.version) >= 0 ? a : b));
    const last = history.at(-1)!;
    assert.equal(
      ofItem.filter((event) => event.version === newest.version).length,
      1,
      `ORDER#${last.item}: versions are distinct`,
    );
    assert.equal(
      newest.eventId,
      last.eventId,
      `ORDER#${last.item}: the newest version is the last change (${last.step})`,
    );
  }
  const removes = events.filter((event) => event.op === 'REMOVE');
  assert.equal(removes.length, 4, 'the even items end with a REMOVE in the same millisecond as the PutItem before it');
  kinesis.destroy();
});
