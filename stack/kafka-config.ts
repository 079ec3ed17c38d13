import { join } from 'node:path';

/** One combined broker+controller node of a KRaft cluster. */
export interface KafkaNode {
  id: number;
  brokerPort: number;
  controllerPort: number;
  /** Holds its server.properties, log4j2.properties, data/, pid and log. */
  dir: string;
}

export interface KafkaClusterLayout {
  nodes: KafkaNode[];
  /** For new topics and for the internal ones (consumer offsets, transaction state, share state). */
  replicationFactor: number;
  minInsyncReplicas: number;
}

/**
 * N nodes with ports counted up from `basePort` (node i: broker base+2(i-1), controller the next
 * port), each with its own directory under `home`. Every node votes in the controller quorum.
 * Three replicas with two in sync let a topic keep accepting acks=all writes while one broker is down.
 */
export function kafkaClusterLayout(
  brokers: number,
  basePort: number,
  nodeDir: (id: number) => string,
): KafkaClusterLayout {
  if (!Number.isInteger(brokers) || brokers < 1)
    throw new Error(`a Kafka cluster needs a whole number of brokers ≥ 1, got ${brokers}`);
  const nodes = Array.from({ length: brokers }, (_, index): KafkaNode => ({
    id: index + 1,
    brokerPort: basePort + 2 * index,
    controllerPort: basePort + 2 * index + 1,
    dir: nodeDir(index + 1),
  }));
  const replicationFactor = Math.min(brokers, 3);
  return { nodes, replicationFactor, minInsyncReplicas: replicationFactor >= 3 ? 2 : 1 };
}

export const brokerAddress = (node: KafkaNode): string => `127.0.0.1:${node.brokerPort}`;

export const kafkaDataDir = (node: KafkaNode): string => join(node.dir, 'data');

export function serverProperties(layout: KafkaClusterLayout, node: KafkaNode): string {
  const voters = layout.nodes.map((voter) => `${voter.id}@127.0.0.1:${voter.controllerPort}`).join(',');
  const { replicationFactor: replicas, minInsyncReplicas: minIsr } = layout;
  return `process.roles=broker,controller
node.id=${node.id}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${node.brokerPort}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${kafkaDataDir(node)}
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=${replicas}
min.insync.replicas=${minIsr}
offsets.topic.replication.factor=${replicas}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minIsr}
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minIsr}
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
`;
}

export const log4jProperties = `rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=WARN
logger.apache.name=org.apache.kafka
logger.apache.level=WARN
`;
