import { validateConfig } from '../../cli/config/load.ts';
import { testEndpoints } from './endpoints.ts';

/** The services of the test stack, and a connector whose name and topics derive from `prefix`: what every test config shares. */
export function testConfigInput(prefix: string) {
  const endpoints = testEndpoints();
  return {
    aws: {
      region: 'us-east-1',
      endpoint: endpoints.awsEndpoint,
      credentials: { accessKeyId: 'shardline', secretAccessKey: 'shardline' },
    },
    kafka: { brokers: endpoints.kafkaBrokers },
    registry: { url: endpoints.registryUrl },
    connector: {
      name: prefix,
      topics: {
        template: `${prefix}.{table}.{entity}`,
        checkpoints: `${prefix}.checkpoints`,
        deadLetter: `${prefix}.dlq`,
      },
    },
  };
}

/**
 * A pipeline config on the test stack (see testConfigInput), validated as a file would be; `connector` adds to
 * (or replaces) the connector's settings, `consumers` gives the groups.
 */
export function testPipelineConfig(
  prefix: string,
  connector: Record<string, unknown>,
  consumers: Record<string, unknown> = {},
): ReturnType<typeof validateConfig> {
  const base = testConfigInput(prefix);
  return validateConfig({ ...base, connector: { ...base.connector, ...connector }, consumers });
}
