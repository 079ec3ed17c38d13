import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createOrdersTable } from '../../../cli/demo/workload.ts';
import { Connector } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { SnapshotSource } from '../../../connector/snapshot/snapshot-source.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

/**
 * Found by the chaos run (seed 99, the connector stalled past a second trim): a second gap met before
 * anything read after the first was committed started a re-snapshot with the first one's version. Its rows
 * (read later, so newer) then tied with the first run's in every sink and were not applied, and its sweep
 * could not remove the first run's rows of items deleted in between: sinks kept stale orders.
 */
test('gap policy resnapshot: a gap met before anything after the previous one is committed re-snapshots above the previous run', async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = uniqueName('orders');
  await createOrdersTable(dynamodb, table);
  for (const id of ['a', 'b'])
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` }, total: { N: '1.00' } },
      }),
    );
  const prefix = uniqueName('regap');
  const records = simulatedRecords('g', 0, 10);
  const stream = new SimulatedStream(`arn:aws:dynamodb:us-east-1:0:table/${table}/stream/2026-01-01T00:00:00.000`, [
    { shardId: 'only', closed: false, records: records.slice(0, 3) },
  ]);
  const entityRule = { kind: 'key-prefix' as const, attribute: 'PK', separator: '#', declared: ['order'] };
  const options = () => ({
    ...baseConnectorOptions(prefix),
    sources: [
      new DynamoDbStreamSource(stream.client(), {
        table,
        streamArn: stream.streamArn,
        region: 'us-east-1',
        entityRule,
      }),
    ],
    gapPolicy: 'resnapshot' as const,
    snapshotFactory: (name: string, run: string, version: string) =>
      new SnapshotSource(dynamodb, {
        table: name,
        region: 'us-east-1',
        entityRule,
        segments: 1,
        readCapacityPerSecond: 0,
        run,
        version,
      }),
  });
  const topic = `${prefix}.${table}.order`;
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const run = async (until: number) => {
    const connectorOptions = options();
    const connector = new Connector(connectorOptions);
    const running = connector.start();
    await waitForTopics(connectorOptions.kafka, [topic]);
    const read = await readTopics(connectorOptions.kafka, [topic], (messages) => messages.length >= until, 30_000);
    await connector.stop();
    await running;
    assert.equal(
      connectorOptions.sources.length,
      1,
      "the re-snapshot runs joined the connector's own sources, not the caller's",
    );
    return Promise.all(read.map(async ({ message }) => codec.decode(message.value!)));
  };
  await run(3);
  // Trimmed while it was away (its checkpoint is below the horizon), and trimmed again before its first
  // read from the horizon: two gaps before anything after the first one is committed.
  stream.shards[0]!.records = records;
  stream.shards[0]!.trimmedBefore = 6;
  stream.failures.GetRecords = ['TrimmedDataAccessException'];
  // r0-r2, r6-r9, and per run two rows and a sweep.
  const events = await run(3 + 4 + 2 * 3);
  dynamodb.destroy();

  const runs = new Map<string, bigint>();
  for (const event of events.filter((candidate) => candidate.op === 'SNAPSHOT' || candidate.op === 'SWEEP'))
    runs.set(event.source.stream, BigInt(event.version));
  assert.equal(runs.size, 2, `two re-snapshot runs: ${[...runs.keys()].join(', ')}`);
  const [first, second] = [...runs.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Above the first run's rows, with its sweep's tombstones (version minus one) above them too.
  assert.ok(second! >= first! + 2n, `the second run's version ${second} is at least 2 above the first's ${first}`);
});
