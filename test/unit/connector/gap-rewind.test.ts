import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { GapError, ShardReader, type PollingPolicy } from '../../../connector/shards/shard-reader.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000';
const policy: PollingPolicy = {
  idleMinMs: 10,
  idleMaxMs: 40,
  recordsPerRead: 100,
  recordsPerRound: 100,
  backoff: { baseMs: 1, maxMs: 5, attempts: 6 },
};

/**
 * Found by the scaled-out chaos run (seed 4242, 1.5 minutes, 3 instances): the unit reading the Streams table
 * met a trim at its checkpoint, began a re-snapshot and read on from TRIM_HORIZON; its rounds then failed (a
 * broker down) and each rewind asked for TRIM_HORIZON again; the stream was trimmed a second time meanwhile,
 * and the 694 changes between the two horizons were skipped with no gap met: 889 stream records never reached
 * Kafka, of which the proxy named 195 as trimmed (the audit lost 395 entries; the re-snapshot, scanned after the
 * second trim, happened to repair the other stores). Records read after a gap must pin the position, as
 * records read after LATEST do: a rewind then meets the second trim as a gap of its own.
 * Marked todo: the fix belongs in connector/shards/shard-reader.ts (restartFromTrimHorizon and rewind), outside
 * the scale-out's files.
 */
test(
  'after a gap, records read from the trim horizon in a round that failed are read again, or the trim that took them is met as a gap',
  { todo: 'connector/shards/shard-reader.ts: a rewind after restartFromTrimHorizon asks for TRIM_HORIZON anew' },
  async () => {
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
  },
);
