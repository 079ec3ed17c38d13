/**
 * One instance of a scaled-out connector as a process of its own, for tests that kill it with SIGKILL.
 * Environment: SHARDLINE_TEST_PREFIX, SHARDLINE_TEST_TABLE (a DynamoDB table with a stream),
 * SHARDLINE_TEST_KINESIS_STREAM and SHARDLINE_TEST_KINESIS_TABLE (a Kinesis stream and the table its records name),
 * SHARDLINE_TEST_UNITS, SHARDLINE_TEST_INSTANCE (and the endpoint variables).
 */
import { createKinesis } from '../../core/aws.ts';
import { KinesisSource } from '../../connector/kinesis/kinesis-source.ts';
import { ScaledConnector } from '../../connector/scale-out/scaled-connector.ts';
import { testAws, testConnectorOptions } from './connector.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const options = await testConnectorOptions(env('SHARDLINE_TEST_TABLE'), env('SHARDLINE_TEST_PREFIX'));
const kinesis = new KinesisSource(createKinesis(testAws()), {
  table: env('SHARDLINE_TEST_KINESIS_TABLE'),
  streamName: env('SHARDLINE_TEST_KINESIS_STREAM'),
  region: 'us-east-1',
  entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
});
const connector = new ScaledConnector({
  ...options,
  sources: [...options.sources, kinesis],
  polling: { ...options.polling, discoveryIntervalMs: 2_000 },
  scaleOut: {
    units: Number(env('SHARDLINE_TEST_UNITS')),
    sessionTimeoutMs: 6_000,
    instance: env('SHARDLINE_TEST_INSTANCE'),
  },
});
process.once('SIGTERM', async () => {
  await connector.stop();
  // Keep-alive sockets of the AWS and Kafka clients would keep the process alive.
  process.exit(0);
});
await connector.start();
// Until SIGTERM, or an error that stops it ends the process with the cause.
await connector.failed;
