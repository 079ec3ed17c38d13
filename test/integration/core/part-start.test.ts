import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createDynamoDb } from '../../../core/aws.ts';
import { FatalError } from '../../../core/errors.ts';
import type { Part } from '../../../core/part.ts';
import { ensureTopics } from '../../../core/topics.ts';
import type { Sink } from '../../../consumers/runtime/sink.ts';
import { Connector, createStreamTable, testAws, testConnectorOptions } from '../../harness/connector.ts';
import { testGroup } from '../../harness/consumers.ts';
import { uniqueName } from '../../harness/endpoints.ts';

/** A sink that keeps its progress in memory; `refuse` makes its store refuse to open. */
function memorySink(refuse?: string): Sink {
  const progress = new Map<string, string>();
  return {
    name: 'memory',
    async open() {
      if (refuse) throw new FatalError(refuse);
    },
    async progress(topic, partition) {
      return progress.get(`${topic}:${partition}`);
    },
    async apply(batch) {
      progress.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
    },
    async close() {},
  };
}

/** How a promise has settled `ms` after now. */
const settledWithin = (promise: Promise<unknown>, ms: number): Promise<string> =>
  Promise.race([
    promise.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    ),
    sleep(ms).then(() => 'pending'),
  ]);

test('the connector and a consumer group start alike: start() resolves once each runs, failed stays pending through stop()', async (t) => {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName('partstart');
  const options = await testConnectorOptions(table, prefix);
  const topic = `${prefix}.${table}.order`;
  await ensureTopics(options.kafka, [topic, options.topics.deadLetter]);
  const parts: [string, Part][] = [
    ['group', testGroup(prefix, 'memory', [topic], memorySink())],
    ['connector', new Connector(options)],
  ];
  t.after(async () => {
    await Promise.all(parts.map(([, part]) => part.stop()));
    dynamodb.destroy();
  });
  for (const [name, part] of parts) {
    assert.equal(await settledWithin(part.start(), 30_000), 'resolved', `${name}: start() resolves once it runs`);
    assert.equal(part.health().ready, true, `${name}: running and ready`);
    assert.equal(await settledWithin(part.failed, 100), 'pending', `${name}: nothing failed`);
  }
  for (const [name, part] of parts) {
    await part.stop();
    assert.equal(await settledWithin(part.failed, 100), 'pending', `${name}: a stop is no failure`);
  }
});

test('a consumer group that cannot start rejects start() and failed alike, as the connector does', async (t) => {
  const prefix = uniqueName('partrefused');
  const group = testGroup(prefix, 'memory', [`${prefix}.orders.order`], memorySink('the store refuses this setup'));
  t.after(() => group.stop());
  await assert.rejects(group.start(), /the store refuses this setup/);
  assert.equal(await settledWithin(group.failed, 100), 'rejected: the store refuses this setup');
  assert.match(group.health().detail ?? '', /the store refuses this setup/);
});
