import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// The stack's home is read when its modules load: this file's own, with a cluster of three nodes on disk.
const home = mkdtempSync(join(tmpdir(), 'shardline-stack-home-'));
process.env.SHARDLINE_STACK_HOME = home;
const { kafkaBrokers, stackKafka } = await import('../../../stack/stack.ts');

const nodeDir = (id: number) => join(home, 'kafka-cluster-9092', `node-${id}`);
for (const id of [1, 2, 3]) mkdirSync(nodeDir(id), { recursive: true });

test('without a broker count the stack keeps the Kafka that runs: the cluster `stack up --brokers 3` started, else the single node', (t) => {
  t.after(() => rmSync(home, { recursive: true, force: true }));
  assert.deepEqual(
    stackKafka().map(({ name }) => name),
    ['kafka'],
    'nothing runs: the single node',
  );
  // A live pid (this process) in a node's pid file: the cluster runs.
  writeFileSync(join(nodeDir(1), 'service.pid'), String(process.pid));
  assert.deepEqual(
    stackKafka().map(({ name }) => name),
    ['kafka-1', 'kafka-2', 'kafka-3'],
  );
  assert.equal(kafkaBrokers(), '127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096', 'what `stack up` prints to export');
  assert.deepEqual(
    stackKafka({ brokers: 1 }).map(({ name }) => name),
    ['kafka'],
    'a count asked for is what starts',
  );
});
