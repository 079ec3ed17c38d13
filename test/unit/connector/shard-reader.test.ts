import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { ShardReader, type PollingPolicy } from '../../../connector/shards/shard-reader.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000';
const policy: PollingPolicy = {
  idleMinMs: 10,
  idleMaxMs: 40,
  recordsPerRead: 100,
  recordsPerRound: 100,
  backoff: { baseMs: 1, maxMs: 5, attempts: 6 },
};

function latestReader() {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records: simulatedRecords('s', 0, 3) }]);
  const source = new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: ARN,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const reader = new ShardReader(source, 's', undefined, { type: 'LATEST' }, policy);
  const append = (start: number, count: number) =>
    stream.shards[0]!.records.push(...simulatedRecords('s', start, count));
  const ids = async () => (await reader.poll(0)).map((record) => record.sequenceNumber.slice(-2));
  return { reader, append, ids };
}

test('startPosition LATEST: records read in a round that failed are read again, not skipped by asking for LATEST anew', async () => {
  const { reader, append, ids } = latestReader();
  assert.deepEqual(await ids(), [], 'LATEST starts after the records already in the shard');
  append(3, 3);
  assert.deepEqual(await ids(), ['03', '04', '05']);
  append(6, 2);
  reader.rewind(); // the transaction carrying 03..05 failed
  assert.deepEqual(await ids(), ['03', '04', '05', '06', '07']);
  reader.commit();
  reader.rewind();
  assert.deepEqual(await ids(), [], 'after a commit, the committed position is where it goes on');
});

test('startPosition LATEST: a failed round before the shard returned anything keeps the position LATEST first gave', async () => {
  const { reader, append, ids } = latestReader();
  assert.deepEqual(await ids(), []);
  reader.rewind(); // another shard's records failed the round
  append(3, 2); // written while the connector backs off
  assert.deepEqual(await ids(), ['03', '04']);
  reader.resetTo(undefined); // checkpoints read back after a commit of unknown outcome: none for this shard
  assert.deepEqual(await ids(), ['03', '04']);
});
