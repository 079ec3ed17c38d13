import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { GapError, ShardReader, type PollingPolicy } from '../../../connector/shards/shard-reader.ts';
import type { ShardPosition } from '../../../connector/shards/source.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000';
const policy: PollingPolicy = {
  idleMinMs: 10,
  idleMaxMs: 40,
  recordsPerRead: 100,
  recordsPerRound: 100,
  backoff: { baseMs: 1, maxMs: 5, attempts: 6 },
};

/** A reader of one open simulated shard holding `records` records, starting at `initial`. */
function simulatedReader(initial: ShardPosition, records: number) {
  const stream = new SimulatedStream(ARN, [
    { shardId: 's', closed: false, records: simulatedRecords('s', 0, records) },
  ]);
  const source = new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: ARN,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const reader = new ShardReader(source, 's', undefined, initial, policy);
  const append = (start: number, count: number) =>
    stream.shards[0]!.records.push(...simulatedRecords('s', start, count));
  const ids = async () => (await reader.poll(0)).map((record) => record.sequenceNumber.slice(-2));
  const getRecordsCalls = () => stream.calls.filter((call) => call.startsWith('GetRecords')).length;
  return { stream, reader, append, ids, getRecordsCalls };
}

const latestReader = () => simulatedReader({ type: 'LATEST' }, 3);

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

/**
 * Found by the scaled-out chaos run (seed 4242, 1.5 minutes, 3 instances): the unit reading the Streams table
 * met a trim at its checkpoint, began a re-snapshot and read on from TRIM_HORIZON; its rounds then failed (a
 * broker down) and each rewind asked for TRIM_HORIZON again; the stream was trimmed a second time meanwhile,
 * and the 694 changes between the two horizons were skipped with no gap met: 889 stream records never reached
 * Kafka, of which the proxy named 195 as trimmed (the audit lost 395 entries; the re-snapshot, scanned after the
 * second trim, happened to repair the other stores). Records read after a gap must pin the position, as
 * records read after LATEST do: a rewind then meets the second trim as a gap of its own.
 */
test('after a gap, records read from the trim horizon in a round that failed are read again, or the trim that took them is met as a gap', async () => {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records: simulatedRecords('s', 0, 10) }]);
  const source = new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: ARN,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const shard = stream.shards[0]!;
  const reader = new ShardReader(source, 's', shard.records[1]!.sequenceNumber, { type: 'TRIM_HORIZON' }, policy);
  const ids = async () => (await reader.poll(0)).map((record) => record.sequenceNumber.slice(-2));

  shard.trimmedBefore = 4; // the first trim: 02 and 03 are gone
  await assert.rejects(reader.poll(0), GapError);
  reader.restartFromTrimHorizon(); // what the connector does after handling the gap
  assert.deepEqual(await ids(), ['04', '05', '06', '07', '08', '09']);
  shard.trimmedBefore = 7; // trimmed again while the round carrying 04..09 fails
  reader.rewind();
  const again = await reader.poll(0).then(
    (records) => records.map((record) => record.sequenceNumber.slice(-2)),
    (error: unknown) => error,
  );
  // Either 04..06 are read again (they are not: they are gone) or their loss is a gap; never silently skipped.
  assert.ok(again instanceof GapError, `read on without a gap: ${JSON.stringify(again)}`);
});

const trimHorizonReader = (records: number) => simulatedReader({ type: 'TRIM_HORIZON' }, records);

test('a page read ahead while the round commits is what the next poll returns, without asking again', async () => {
  const { reader, append, ids, getRecordsCalls } = trimHorizonReader(3);
  assert.deepEqual(await ids(), ['00', '01', '02']);
  append(3, 2);
  reader.readAhead();
  reader.readAhead(); // one page ahead at most
  assert.equal(getRecordsCalls(), 2, 'the read-ahead asked at once');
  append(5, 1); // arrives after the read-ahead: the poll after the next one reads it
  assert.deepEqual(await ids(), ['03', '04']);
  assert.equal(getRecordsCalls(), 2, 'the poll took the page read ahead');
  assert.deepEqual(await ids(), ['05']);
});

test('a page read ahead moves no position: a round that failed meanwhile reads from the committed position again', async () => {
  const { reader, append, ids } = trimHorizonReader(3);
  assert.deepEqual(await ids(), ['00', '01', '02']);
  reader.commit();
  append(3, 3);
  assert.deepEqual(await ids(), ['03', '04', '05']);
  const readPosition = reader.position;
  append(6, 2);
  reader.readAhead(); // 06, 07 while the round carrying 03..05 commits
  assert.equal(reader.position, readPosition, 'the read-ahead is not read yet');
  reader.rewind(); // that commit failed
  assert.deepEqual(await ids(), ['03', '04', '05', '06', '07']);
  reader.commit();
  assert.deepEqual(await ids(), [], 'nothing is read twice after the commit');
});

test('a read-ahead that failed is asked again by the poll, with its retries', async () => {
  const { stream, reader, append, ids, getRecordsCalls } = trimHorizonReader(2);
  assert.deepEqual(await ids(), ['00', '01']);
  append(2, 2);
  stream.failures.GetRecords = ['ProvisionedThroughputExceededException'];
  reader.readAhead();
  assert.deepEqual(await ids(), ['02', '03']);
  assert.equal(getRecordsCalls(), 3, 'the failed read-ahead, then the poll');
});

test('a read-ahead that met a trim leaves the gap to the poll, which reports it', async () => {
  const { stream, reader, append, ids } = trimHorizonReader(2);
  assert.deepEqual(await ids(), ['00', '01']);
  append(2, 3);
  stream.shards[0]!.trimmedBefore = 4; // 02 and 03 are trimmed before they are read
  reader.readAhead();
  await assert.rejects(reader.poll(0), GapError);
});

test('an empty page read ahead is taken without an idle wait: the next round asks again at once, with the next iterator', async () => {
  const { reader, append, ids, getRecordsCalls } = trimHorizonReader(2);
  assert.deepEqual(await ids(), ['00', '01']);
  reader.readAhead(); // nothing new yet
  append(2, 2); // arrives while the round commits
  assert.deepEqual(await ids(), [], 'the page read ahead, empty');
  assert.equal(getRecordsCalls(), 2, 'taken, not asked for again with the same iterator');
  assert.equal(reader.nextPollAt, 0, 'no idle wait after an empty page read ahead');
  assert.deepEqual(await ids(), ['02', '03']);
});
