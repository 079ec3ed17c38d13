import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsConnection {
  region: string;
  /** An emulator or VPC endpoint; unset for AWS itself. */
  endpoint?: string;
  /** Static credentials; unset to use the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function baseConfig(aws: AwsConnection) {
  return {
    region: aws.region,
    endpoint: aws.endpoint,
    credentials: aws.credentials,
    // The connector does its own retries with backoff and jitter, and knows which errors are final.
    maxAttempts: 1,
  };
}

export function createDynamoDb(aws: AwsConnection): DynamoDBClient {
  return new DynamoDBClient(baseConfig(aws));
}

export function createDynamoDbStreams(aws: AwsConnection): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(baseConfig(aws));
}

export function createKinesis(aws: AwsConnection): KinesisClient {
  // The Kinesis client speaks HTTP/2 by default; emulators speak HTTP/1.1 only.
  return new KinesisClient({ ...baseConfig(aws), ...(aws.endpoint ? { requestHandler: new NodeHttpHandler() } : {}) });
}

/** Credentials the local emulator accepts. */
export const emulatorCredentials = { accessKeyId: 'shardline', secretAccessKey: 'shardline' };
