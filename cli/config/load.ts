import { applyEnvironment, parseConfig, readConfigFile, type EndpointKey } from '../../core/config/load.ts';
import type { SinkDefinition, Store } from '../../consumers/runtime/sink-definition.ts';
import { ENDPOINT_VARIABLES } from '../../stack/endpoints.ts';
import { SINKS } from '../sinks.ts';
import { configSchemaOf } from './schema.ts';

/** The endpoint variables of the stores a sink reaches at its own `url` (ClickHouse is the shared block's). */
const STORE_VARIABLES: Record<Exclude<Store, 'clickhouse'>, string> = {
  opensearch: ENDPOINT_VARIABLES.opensearchUrl,
  redis: ENDPOINT_VARIABLES.redisUrl,
};

/** The endpoint variables of the stack map onto config keys, so tests, the demo and users share one scheme. */
const endpointKeysOf = (sinks: readonly SinkDefinition[]): EndpointKey[] => [
  [
    ENDPOINT_VARIABLES.kafkaBrokers,
    ['kafka', 'brokers'],
    (value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter(Boolean),
  ],
  [ENDPOINT_VARIABLES.registryUrl, ['registry', 'url'], String],
  [ENDPOINT_VARIABLES.awsEndpoint, ['aws', 'endpoint'], String],
  [ENDPOINT_VARIABLES.clickhouseUrl, ['clickhouse', 'url'], String],
  ...sinks.flatMap((sink) =>
    sink.stores.flatMap((store): EndpointKey[] =>
      store === 'clickhouse' ? [] : [[STORE_VARIABLES[store], ['consumers', sink.name, 'url'], String]],
    ),
  ),
];

/** Validation and loading of the configuration of a Shardline with these sinks. */
export function configLoaderOf<Sinks extends readonly SinkDefinition[]>(sinks: Sinks) {
  const schema = configSchemaOf(sinks);
  const endpointKeys = endpointKeysOf(sinks);
  /** Validates a raw configuration object; throws ConfigError listing every problem. */
  const validate = (raw: unknown, source = 'configuration') => parseConfig(schema, raw, source);
  return {
    validate,
    /** Reads the YAML file (if any), applies the environment, validates. */
    load: (path: string | undefined, env: NodeJS.ProcessEnv = process.env) =>
      validate(applyEnvironment(readConfigFile(path), env, endpointKeys), path ?? 'environment'),
  };
}

export const { validate: validateConfig, load: loadConfig } = configLoaderOf(SINKS);
