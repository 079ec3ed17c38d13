import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConnector } from '../../../cli/pipeline.ts';
import { checkpointMessage, ensureCheckpointTopic } from '../../../connector/checkpoints.ts';
import { formatCheckpointKey, snapshotStreamId } from '../../../connector/checkpoint-keys.ts';
import { createKafka } from '../../../core/kafka.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { idempotentProducer } from '../../harness/producer.ts';
import { testPipelineConfig } from '../../harness/pipeline-config.ts';

const endpoints = testEndpoints();

test(
  'a restart with an unfinished re-snapshot run of a table no rule matches any more starts: the run is left, not a crash',
  { timeout: 120_000 },
  async (t) => {
    const prefix = uniqueName('leftrun');
    const config = testPipelineConfig(prefix, {
      tables: [{ match: `${prefix}-found-*`, entities: ['order'] }],
      discovery: { intervalMs: 1_000 },
    });
    // What a run begun on a table that matched then (it was renamed or untagged since) left in the checkpoints.
    const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
    const admin = kafka.admin();
    await admin.connect();
    await ensureCheckpointTopic(admin, config.connector.topics.checkpoints);
    await admin.disconnect();
    const producer = idempotentProducer(kafka);
    await producer.connect();
    const stream = snapshotStreamId({ table: `${prefix}-renamed`, run: 'resnapshot-1' });
    await producer.send({
      topic: config.connector.topics.checkpoints,
      messages: [
        checkpointMessage(formatCheckpointKey({ connector: prefix, stream, shard: '0' }), {
          finished: false,
          version: '5',
        }),
      ],
    });
    await producer.disconnect();

    const connector = await buildConnector(config);
    t.after(() => connector.stop());
    await connector.start();
    assert.equal(connector.health().ready, true, JSON.stringify(connector.health()));
  },
);
