/**
 * The connector as a process of its own, for fault tests that kill it with SIGKILL.
 * Environment: SHARDLINE_TEST_TABLE, SHARDLINE_TEST_PREFIX (and the endpoint variables).
 */
import { Connector, testConnectorOptions } from './connector.ts';

const table = process.env.SHARDLINE_TEST_TABLE!;
const prefix = process.env.SHARDLINE_TEST_PREFIX!;
const connector = new Connector(await testConnectorOptions(table, prefix));
process.once('SIGTERM', async () => {
  await connector.stop();
  // Keep-alive sockets of the AWS and Kafka clients would keep the process alive.
  process.exit(0);
});
await connector.start();
// Until SIGTERM, or an error that stops it ends the process with the cause.
await connector.failed;
