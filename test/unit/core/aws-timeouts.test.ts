import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentServer } from '../../harness/silent-server.ts';
import { GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { GetRecordsCommand as KinesisGetRecordsCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb, createDynamoDbStreams, createKinesis, emulatorCredentials } from '../../../core/aws.ts';
import { isRetryable } from '../../../connector/shards/errors.ts';

const silent = silentServer();

test('an AWS call the server never answers fails after the request timeout, as a retryable TimeoutError', async () => {
  const aws = { region: 'us-east-1', endpoint: silent.url, credentials: emulatorCredentials, requestTimeoutMs: 300 };
  const dynamodb = createDynamoDb(aws);
  const streams = createDynamoDbStreams(aws);
  const kinesis = createKinesis(aws);
  try {
    const calls = [
      () => dynamodb.send(new ScanCommand({ TableName: 'orders' })),
      () => streams.send(new GetRecordsCommand({ ShardIterator: 'iterator' })),
      () => kinesis.send(new KinesisGetRecordsCommand({ ShardIterator: 'iterator' })),
    ];
    for (const call of calls) {
      const started = performance.now();
      await assert.rejects(call(), (error: unknown) => {
        assert.equal((error as Error).name, 'TimeoutError');
        assert.ok(isRetryable(error), 'retried by the callers');
        return true;
      });
      // Without a timeout the call waited for ever (the test's own timeout would end it).
      assert.ok(performance.now() - started < 5_000, `failed after ${Math.round(performance.now() - started)} ms`);
    }
  } finally {
    for (const client of [dynamodb, streams, kinesis]) client.destroy();
  }
});
