import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../cli/config/load.ts';
import { topicPolicyConfig } from '../../../core/topics.ts';
import { problemsOf } from '../../harness/config-problems.ts';

const withTopics = (topics: Record<string, unknown>) => ({
  kafka: { brokers: ['127.0.0.1:9092'] },
  registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
  connector: { tables: [{ name: 'orders' }], topics },
});

test('change topics keep everything unless configured otherwise', () => {
  const { topics } = validateConfig(withTopics({})).connector;
  assert.equal(topics.retentionMs, -1);
  assert.equal(topics.compaction, undefined);
  assert.deepEqual(topicPolicyConfig(topics), [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: '-1' },
  ]);
  assert.deepEqual(topicPolicyConfig({ retentionMs: -1, compaction: { deleteRetentionMs: 1000 } }), [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'delete.retention.ms', value: '1000' },
    { name: 'min.compaction.lag.ms', value: '1000' },
  ]);
  assert.equal(
    validateConfig(withTopics({ compaction: {} })).connector.topics.compaction?.deleteRetentionMs,
    7 * 86_400_000,
  );
});

test('topic policy config: tombstones need compaction, compaction takes no retentionMs, retention is -1 or positive', () => {
  assert.match(
    problemsOf(withTopics({ tombstones: true })).join('\n'),
    /connector\.topics\.tombstones: .*set topics\.compaction/,
  );
  assert.deepEqual(problemsOf(withTopics({ tombstones: true, compaction: { deleteRetentionMs: 86_400_000 } })), []);
  assert.match(
    problemsOf(withTopics({ compaction: {}, retentionMs: 1000 })).join('\n'),
    /connector\.topics\.retentionMs: .*does not apply/,
  );
  assert.match(
    problemsOf(withTopics({ retentionMs: 0 })).join('\n'),
    /connector\.topics\.retentionMs: .*-1 \(keep every change\)/,
  );
});
