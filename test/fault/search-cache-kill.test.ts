import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { waitForCaughtUp } from '../../core/lag.ts';
import { normalizeDecimal } from '../../schemas/decimal.ts';
import { killHard, randomBetween, spawnEntry } from '../harness/processes.ts';
import { canControlServers, freeze, restartRedis } from '../harness/servers.ts';
import { cachedItems, expectedOrders, scanTable, searchAll } from '../harness/stores.ts';
import { readTopics } from '../harness/topic-reader.ts';
import { startOrdersPipeline, writeInBackground } from '../harness/orders-pipeline.ts';

const RUNS = 6;

test(`kill the search and cache consumers ${RUNS} times, freeze OpenSearch and restart Redis meanwhile: both equal the table`, async (t) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });
  const pipeline = await startOrdersPipeline('scfault', 23);
  const { dynamodb, table, workload, prefix, options, topic } = pipeline;
  cleanup.push(() => pipeline.stop());
  const env = { SHARDLINE_TEST_PREFIX: prefix, SHARDLINE_TEST_TOPIC: topic, SHARDLINE_TEST_SINKS: 'search,cache' };

  const writer = writeInBackground(workload);
  cleanup.push(() => writer.stop());

  const outages = canControlServers();
  for (let run = 0; run < RUNS; run++) {
    const consumer: ChildProcess = spawnEntry(new URL('../harness/consumer-process.ts', import.meta.url), env);
    cleanup.push(() => killHard(consumer));
    await sleep(randomBetween(7_000, 10_000));
    if (outages && run === 2) await freeze('opensearch', 5_000);
    if (outages && run === 4) await restartRedis(3_000);
    await sleep(randomBetween(500, 2_000));
    await killHard(consumer);
  }
  await writer.stop();
  t.diagnostic(
    outages
      ? 'OpenSearch frozen 5 s and Redis restarted during the runs'
      : "servers not under this run's control: no outages injected",
  );

  const last = spawnEntry(new URL('../harness/consumer-process.ts', import.meta.url), env);
  cleanup.push(() => killHard(last));
  await sleep(1_000);
  await waitForCaughtUp(options.kafka, [`${prefix}-search`, `${prefix}-cache`], topic, 120_000);

  const expected = expectedOrders(await scanTable(dynamodb, table));
  const documents = await searchAll(`${prefix}-order`);
  const cached = await cachedItems(prefix);
  t.diagnostic(`${workload.operations} operations, ${expected.size} orders left`);
  assert.deepEqual(new Set([...documents.keys()]), new Set([...expected.keys()].map((key) => `${table}:${key}`)));
  for (const [key, fields] of expected) {
    const document = documents.get(`${table}:${key}`)!;
    assert.deepEqual(
      { category: document.category, status: document.status, total: document.total, user_id: document.user_id },
      fields,
      key,
    );
    const doc = JSON.parse(cached.get(`${prefix}:{${table}}:${key}`)?.doc ?? 'null') as Record<string, unknown> | null;
    assert.deepEqual(
      doc && {
        category: doc.category,
        status: doc.status,
        total: normalizeDecimal(String(doc.total), 2),
        user_id: doc.user_id,
      },
      fields,
      key,
    );
  }
  assert.equal([...cached.values()].filter((hash) => hash.doc !== undefined).length, expected.size);
  const dead = await readTopics(options.kafka, [options.topics.deadLetter], (messages) => messages.length > 0, 2_000);
  assert.deepEqual(dead, [], 'nothing went to the dead-letter topic');
});
