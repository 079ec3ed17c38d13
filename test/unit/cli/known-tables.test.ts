import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../cli/config/load.ts';
import { KnownTables } from '../../../cli/pipeline.ts';

test('a topic two tables share (a template without {table}) keeps the table that wrote it first', () => {
  const config = validateConfig({
    kafka: { brokers: ['127.0.0.1:9092'] },
    registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
    connector: {
      tables: [
        { name: 'orders', entities: ['order'] },
        { match: 'orders-*', entities: ['order'] },
      ],
      topics: { template: 'changes.{entity}' },
    },
  });
  const known = new KnownTables(config);
  assert.equal(known.tableOf('changes.order'), 'orders');
  // Discovered later: the topic's progress key stays the configured table's.
  known.add({ ...config.connector.tables[0]!, name: 'orders-eu' });
  assert.equal(known.tableOf('changes.order'), 'orders');
  assert.deepEqual(known.topics(), ['changes.order']);
});
