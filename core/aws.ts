import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsConnection {
  region: string;
  /** An emulator or VPC endpoint; unset for AWS itself. */
  endpoint?: string;
  /** Static credentials; unset to use the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How long one call may wait for its answer before it fails as a TimeoutError (retried); default 30 s. */
  requestTimeoutMs?: number;
}

/**
 * The SDK waits for an answer without limit by default: a call the server never answers (an emulator that
 * stalled, a connection lost without a reset) held the connector's round, or a snapshot, for ever with
 * nothing logged. Every call now fails after this long, and the callers' retries take over.
 */
const REQUEST_TIMEOUT_MS = 30_000;
const CONNECTION_TIMEOUT_MS = 5_000;

function baseConfig(aws: AwsConnection) {
  return {
    region: aws.region,
    endpoint: aws.endpoint,
    credentials: aws.credentials,
    // The connector does its own retries with backoff and jitter, and knows which errors are final.
    maxAttempts: 1,
  };
}

const http1 = (aws: AwsConnection): NodeHttpHandler =>
  new NodeHttpHandler({
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: aws.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    // Without it the handler only logs a warning when the time is up, and the call goes on waiting.
    throwOnRequestTimeout: true,
  });

export function createDynamoDb(aws: AwsConnection): DynamoDBClient {
  return new DynamoDBClient({ ...baseConfig(aws), requestHandler: http1(aws) });
}

export function createDynamoDbStreams(aws: AwsConnection): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({ ...baseConfig(aws), requestHandler: http1(aws) });
}

export function createKinesis(aws: AwsConnection): KinesisClient {
  // The Kinesis client speaks HTTP/2 by default; emulators speak HTTP/1.1 only.
  const requestHandler = aws.endpoint
    ? http1(aws)
    : new NodeHttp2Handler({ requestTimeout: aws.requestTimeoutMs ?? REQUEST_TIMEOUT_MS });
  return new KinesisClient({ ...baseConfig(aws), requestHandler });
}

/** Credentials the local emulator accepts. */
export const emulatorCredentials = { accessKeyId: 'shardline', secretAccessKey: 'shardline' };
