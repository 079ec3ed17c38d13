import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createDynamoDb } from '../../../core/aws.ts';
import { createOrdersTable } from '../../../cli/demo/workload.ts';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics, topicMetadata } from '../../../core/topics.ts';
import { testAws } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { startCommand, writePipelineConfig } from '../../harness/cli.ts';
import { kafkaClusterUnavailable, startKafkaCluster, type KafkaTestCluster } from '../../harness/kafka-cluster.ts';

const port = 19473;
const unavailable = kafkaClusterUnavailable();
let cluster: KafkaTestCluster | undefined;

// Ports apart from the other three-broker tests' and the chaos run's (19092-19097).
before(async () => {
  if (!unavailable) cluster = await startKafkaCluster({ brokers: 3, basePort: 19192 });
});
after(() => cluster?.stop());

/** Kafka's partition of `__transaction_state` for a transactional id: abs(Java's String.hashCode) modulo the partitions. */
function transactionStatePartition(transactionalId: string, partitions: number): number {
  let hash = 0;
  for (const char of transactionalId) hash = (Math.imul(31, hash) + char.charCodeAt(0)) | 0;
  return (hash & 0x7fffffff) % partitions;
}

async function leaderOf(kafka: Kafka, topic: string, partition: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [metadata] = await topicMetadata(admin, [topic]);
    const leader = metadata?.partitions.find((entry) => entry.partitionId === partition)?.leader;
    assert.ok(leader !== undefined && leader >= 0, `${topic} ${partition} has a leader`);
    return leader;
  } finally {
    await admin.disconnect();
  }
}

async function readiness(): Promise<{ ok: boolean; text: string } | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
  return response && { ok: response.ok, text: await response.text() };
}

test(
  '`shardline run` started just after its transaction coordinator died waits for the cluster instead of exiting, and runs',
  { timeout: 240_000, skip: unavailable && `a three-broker Kafka cannot run here: ${unavailable}` },
  async () => {
    const dynamodb = createDynamoDb(testAws());
    const table = uniqueName('broker-down-orders');
    await createOrdersTable(dynamodb, table);
    const prefix = uniqueName('broker-down');
    // The connector and one group: both start paths (topics, fencing, checkpoints; sink, group join).
    const configPath = writePipelineConfig(table, prefix, port, {
      rollups: { enabled: false },
      audit: { enabled: false },
      search: { enabled: false },
    });
    // The topics and the connector's transactional id exist from an earlier run. The broker coordinating
    // that id's transactions dies just before the start; the cluster's metadata still names it for a while.
    const kafka = createKafka({ brokers: cluster!.brokers, clientId: prefix });
    await ensureTopics(kafka, [`${prefix}.${table}.order`, `${prefix}.dlq`]);
    const transactionalId = `shardline-connector-${prefix}`;
    const earlier = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await earlier.connect();
    // KafkaJS initialises a transactional id at its first transaction.
    await (await earlier.transaction()).abort();
    await earlier.disconnect();
    const coordinator = await leaderOf(kafka, '__transaction_state', transactionStatePartition(transactionalId, 10));
    await cluster!.stopBroker(coordinator, { hard: true });
    const { child, exited } = startCommand(configPath, 'run', { SHARDLINE_KAFKA_BROKERS: cluster!.brokers.join(',') });
    try {
      const early = await Promise.race([
        exited.then((code) => `exited with ${code}`),
        sleep(20_000).then(() => 'running'),
      ]);
      assert.equal(early, 'running', 'the process waits for the cluster instead of exiting');

      await cluster!.startBroker(coordinator);
      const readyBy = Date.now() + 120_000;
      let answer = await readiness();
      while (!answer?.ok && Date.now() < readyBy) {
        await sleep(500);
        answer = await readiness();
      }
      assert.ok(answer?.ok, `ready once the broker is back: ${answer?.text}`);
      assert.match(answer.text, new RegExp(`group ${prefix}-cache.*: ready`));
      assert.match(answer.text, /connector.*: ready/);
    } finally {
      child.kill('SIGTERM');
      await exited;
      dynamodb.destroy();
    }
  },
);
