/**
 * The connector as a process of its own, for fault tests that kill it with SIGKILL.
 * Environment: SHARDLINE_TEST_TABLE, SHARDLINE_TEST_PREFIX (and the endpoint variables).
 */
import { Connector, testConnectorOptions } from './connector.ts';

const table = process.env.SHARDLINE_TEST_TABLE!;
const prefix = process.env.SHARDLINE_TEST_PREFIX!;
const connector = new Connector(await testConnectorOptions(table, prefix));
process.once('SIGTERM', () => void connector.stop());
await connector.start();
