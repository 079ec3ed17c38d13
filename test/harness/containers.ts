import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { NATIVE_PORTS, localEndpoints, type Endpoints } from '../../stack/endpoints.ts';

/** True when a Docker (or compatible) engine answers. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * The same services as docker-compose.yml, from the official images, on the same fixed ports as the
 * native stack so that Kafka's advertised listener is right without a second listener.
 */
export async function startContainers(): Promise<{ endpoints: Endpoints; stop: () => Promise<void> }> {
  const fixed = (port: number) => ({ container: port, host: port });
  const started: StartedTestContainer[] = await Promise.all([
    new GenericContainer('apache/kafka:4.1.1')
      .withExposedPorts(fixed(NATIVE_PORTS.kafka))
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${NATIVE_PORTS.kafka},CONTROLLER://:${NATIVE_PORTS.kafkaController}`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${NATIVE_PORTS.kafka}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@localhost:${NATIVE_PORTS.kafkaController}`,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '3',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer('apicurio/apicurio-registry:3.3.3')
      .withExposedPorts({ container: 8080, host: NATIVE_PORTS.registry })
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .start(),
    new GenericContainer('opensearchproject/opensearch:2.19.3')
      .withExposedPorts(fixed(NATIVE_PORTS.opensearch))
      .withEnvironment({
        'discovery.type': 'single-node',
        DISABLE_SECURITY_PLUGIN: 'true',
        DISABLE_INSTALL_DEMO_CONFIG: 'true',
        OPENSEARCH_JAVA_OPTS: '-Xms512m -Xmx512m',
        'cluster.routing.allocation.disk.threshold_enabled': 'false',
      })
      .withWaitStrategy(Wait.forHttp('/_cluster/health', NATIVE_PORTS.opensearch))
      .start(),
    new GenericContainer('redis:7').withExposedPorts(fixed(NATIVE_PORTS.redis)).start(),
    new GenericContainer('motoserver/moto:5.1.22')
      .withExposedPorts(fixed(NATIVE_PORTS.moto))
      .withWaitStrategy(Wait.forHttp('/moto-api/', NATIVE_PORTS.moto))
      .start(),
  ]);
  return {
    endpoints: localEndpoints,
    stop: async () => {
      await Promise.all(started.map((container) => container.stop()));
    },
  };
}
