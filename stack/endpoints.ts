/**
 * One environment variable scheme for the native stack, containers and users' own servers.
 * Every test, the demo and the benchmarks read their endpoints through here.
 */
export interface Endpoints {
  kafkaBrokers: string[];
  /** Confluent-compatible schema registry API. */
  registryUrl: string;
  opensearchUrl: string;
  redisUrl: string;
  /** One moto endpoint serves DynamoDB, DynamoDB Streams and Kinesis. */
  awsEndpoint: string;
  /** A ClickHouse server URL, or undefined for the embedded engine. */
  clickhouseUrl: string | undefined;
}

export const ENDPOINT_VARIABLES = {
  kafkaBrokers: 'SHARDLINE_KAFKA_BROKERS',
  registryUrl: 'SHARDLINE_REGISTRY_URL',
  opensearchUrl: 'SHARDLINE_OPENSEARCH_URL',
  redisUrl: 'SHARDLINE_REDIS_URL',
  awsEndpoint: 'SHARDLINE_AWS_ENDPOINT',
  clickhouseUrl: 'SHARDLINE_CLICKHOUSE_URL',
} as const satisfies Record<keyof Endpoints, string>;

/** The ports the native stack and docker-compose.yml both use. */
export const NATIVE_PORTS = {
  kafka: 9092,
  kafkaController: 9093,
  registry: 8081,
  /** The registry's management interface (health, metrics), kept on loopback. */
  registryManagement: 8091,
  opensearch: 9200,
  opensearchTransport: 9300,
  redis: 6379,
  moto: 5000,
} as const;

export const localEndpoints: Endpoints = {
  kafkaBrokers: [`127.0.0.1:${NATIVE_PORTS.kafka}`],
  registryUrl: `http://127.0.0.1:${NATIVE_PORTS.registry}/apis/ccompat/v7`,
  opensearchUrl: `http://127.0.0.1:${NATIVE_PORTS.opensearch}`,
  redisUrl: `redis://127.0.0.1:${NATIVE_PORTS.redis}`,
  awsEndpoint: `http://127.0.0.1:${NATIVE_PORTS.moto}`,
  clickhouseUrl: undefined,
};

/** Endpoints given in the environment, or undefined when the required ones are not all set. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints | undefined {
  const required = ['kafkaBrokers', 'registryUrl', 'opensearchUrl', 'redisUrl', 'awsEndpoint'] as const;
  if (required.some((key) => !env[ENDPOINT_VARIABLES[key]])) return undefined;
  const read = (key: keyof Endpoints): string => env[ENDPOINT_VARIABLES[key]] ?? '';
  return {
    kafkaBrokers: read('kafkaBrokers')
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    registryUrl: read('registryUrl'),
    opensearchUrl: read('opensearchUrl'),
    redisUrl: read('redisUrl'),
    awsEndpoint: read('awsEndpoint'),
    clickhouseUrl: read('clickhouseUrl') || undefined,
  };
}

export function endpointsToEnv(endpoints: Endpoints): Record<string, string> {
  const env: Record<string, string> = {
    [ENDPOINT_VARIABLES.kafkaBrokers]: endpoints.kafkaBrokers.join(','),
    [ENDPOINT_VARIABLES.registryUrl]: endpoints.registryUrl,
    [ENDPOINT_VARIABLES.opensearchUrl]: endpoints.opensearchUrl,
    [ENDPOINT_VARIABLES.redisUrl]: endpoints.redisUrl,
    [ENDPOINT_VARIABLES.awsEndpoint]: endpoints.awsEndpoint,
  };
  if (endpoints.clickhouseUrl) env[ENDPOINT_VARIABLES.clickhouseUrl] = endpoints.clickhouseUrl;
  return env;
}
