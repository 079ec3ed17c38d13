import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { ConfigurationError } from '../../../core/errors.ts';
import { compareVersions } from '../../../schemas/change-event.ts';

// Only revive() is used: it builds a source record from a stored record without calling DynamoDB Streams.
const sourceOf = (streamArn: string) =>
  new DynamoDbStreamSource({} as DynamoDBStreamsClient, {
    table: 'orders',
    streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'fixed', name: 'order' },
  });

const arn = (label: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/${label}`;

const versionOf = async (streamArn: string, sequenceNumber: string): Promise<string> =>
  (
    await sourceOf(streamArn).revive('shardId-000000000001', {
      eventID: `e-${sequenceNumber}`,
      eventName: 'MODIFY',
      dynamodb: { SequenceNumber: sequenceNumber, Keys: { PK: { S: 'ORDER#1' } }, NewImage: { PK: { S: 'ORDER#1' } } },
    })
  ).toEvent().version;

test("a stream change's version is the stream's creation time, then its sequence number: one stream keeps sequence order", async () => {
  const stream = arn('2026-11-26T14:32:35.325');
  const version = await versionOf(stream, '4421584500000000017450439091');
  assert.equal(
    version,
    `${Date.UTC(2026, 10, 26, 14, 32, 35, 325) * 1000}${'4421584500000000017450439091'.padStart(60, '0')}`,
  );
  // Sequence numbers of different lengths still compare by value.
  assert.ok(
    compareVersions(await versionOf(stream, '100000000000000000010'), await versionOf(stream, '99999999999999999999')) >
      0,
  );
});

test('a label in microseconds (as moto writes it) keeps them', async () => {
  const version = await versionOf(arn('2026-11-27T18:33:53.744721'), '1');
  assert.equal(version.slice(0, 16), String(Date.UTC(2026, 10, 27, 18, 33, 53, 744) * 1000 + 721));
});

test("a table dropped and created again: every change of its new stream is above the old stream's, whatever the sequence numbers", async () => {
  const old = await versionOf(arn('2026-11-26T14:32:35.325'), '4421584500000000017450439091');
  // moto numbers a new stream's records from 1 again; AWS gives no order across streams.
  const recreated = await versionOf(arn('2026-11-27T09:00:00.000'), '000000000000000000001');
  assert.ok(compareVersions(recreated, old) > 0);
});

test('a stream ARN whose label is not a creation time is refused when the source is made', () => {
  assert.throws(
    () => sourceOf('arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/latest'),
    (error: unknown) => error instanceof ConfigurationError && /label is not the creation time/.test(error.message),
  );
});
