import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from '../../core/kafkajs.ts';
import { NATIVE_PORTS } from '../endpoints.ts';
import {
  brokerAddress,
  kafkaClusterLayout,
  kafkaDataDir,
  log4jProperties,
  serverProperties,
  type KafkaClusterLayout,
  type KafkaNode,
} from '../kafka-config.ts';
import { repoRoot, serviceDir, stackHome } from '../paths.ts';
import { requireJava } from '../java-runtime.ts';
import { mavenDependencies } from '../provision.ts';
import type { Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

/** One provisioned copy of the jars serves the single node, the stack's cluster and test clusters. */
const libDir = join(serviceDir('kafka'), 'lib');
const classpath = `${libDir}/*`;

export function provisionKafkaJars(): void {
  mavenDependencies(join(repoRoot, 'stack/java/kafka/pom.xml'), libDir);
}

/** How a cluster's nodes are named and how much heap each gets. */
interface NodeOptions {
  name: (node: KafkaNode) => string;
  heap: string[];
}

/**
 * The services of one KRaft cluster, one process per node. They share a cluster id: the one a node
 * was formatted with earlier, else a new one.
 */
export function kafkaNodeServices(layout: KafkaClusterLayout, options: NodeOptions): Service[] {
  let clusterId: string | undefined;
  const sharedClusterId = (): string => (clusterId ??= formattedClusterId(layout) ?? newClusterId());
  const addresses = layout.nodes.map(brokerAddress);
  return layout.nodes.map((node): Service => ({
    name: options.name(node),
    dir: node.dir,
    address: brokerAddress(node),
    ports: [node.brokerPort, node.controllerPort],
    readyTimeoutMs: 120_000,

    async provision() {
      provisionKafkaJars();
      mkdirSync(node.dir, { recursive: true });
      writeFileSync(join(node.dir, 'server.properties'), serverProperties(layout, node));
      writeFileSync(join(node.dir, 'log4j2.properties'), log4jProperties);
      if (!existsSync(join(kafkaDataDir(node), 'meta.properties'))) {
        const java = requireJava(17);
        execFileSync(
          java,
          [
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            `--cluster-id=${sharedClusterId()}`,
            '--config',
            join(node.dir, 'server.properties'),
          ],
          { stdio: ['ignore', 'ignore', 'inherit'] },
        );
      }
    },

    async start() {
      const java = requireJava(17);
      return startDetached({ name: this.name, dir: node.dir }, java, [
        ...options.heap,
        '-XX:+UseG1GC',
        `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.properties')}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        join(node.dir, 'server.properties'),
      ]);
    },

    /** Ready once this node answers and knows every node of the cluster as a broker. */
    async ready() {
      const admin = new Kafka({ brokers: [this.address], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return addresses.every((address) =>
          cluster.brokers.some((broker) => `${broker.host}:${broker.port}` === address),
        );
      } finally {
        await admin.disconnect();
      }
    },

    async version() {
      const jar = readdirSync(libDir).find((file) => /^kafka_2\.13-.*\.jar$/.test(file));
      return jar ? jar.replace(/^kafka_2\.13-|\.jar$/g, '') : 'unknown';
    },
  }));
}

/** The stack's default Kafka: one node on the native ports, in .stack/kafka. */
export const kafkaService: Service = kafkaNodeServices(
  kafkaClusterLayout(1, NATIVE_PORTS.kafka, () => serviceDir('kafka')),
  {
    name: () => 'kafka',
    heap: ['-Xms256m', '-Xmx512m'],
  },
)[0]!;

/** Several JVMs share the machine: each node gets a modest heap. */
export const CLUSTER_NODE_HEAP = ['-Xms128m', '-Xmx384m'];

/** The stack's cluster of `brokers` nodes from `basePort` on: services kafka-1..N in .stack/kafka-cluster-<base port>/node-<i>. */
export function kafkaClusterServices(brokers: number, basePort: number = NATIVE_PORTS.kafka): Service[] {
  const home = join(stackHome, `kafka-cluster-${basePort}`);
  return kafkaNodeServices(
    kafkaClusterLayout(brokers, basePort, (id) => join(home, `node-${id}`)),
    {
      name: (node) => `kafka-${node.id}`,
      heap: CLUSTER_NODE_HEAP,
    },
  );
}

/** The clusters `kafkaClusterServices` left on disk, whether running or not, so that down and status find them. */
export function kafkaClustersOnDisk(): Service[][] {
  if (!existsSync(stackHome)) return [];
  return readdirSync(stackHome).flatMap((entry) => {
    const match = /^kafka-cluster-(\d+)$/.exec(entry);
    if (!match) return [];
    const brokers = readdirSync(join(stackHome, entry)).filter((node) => /^node-\d+$/.test(node)).length;
    return brokers > 0 ? [kafkaClusterServices(brokers, Number(match[1]))] : [];
  });
}

function formattedClusterId(layout: KafkaClusterLayout): string | undefined {
  for (const node of layout.nodes) {
    const meta = join(kafkaDataDir(node), 'meta.properties');
    const id = existsSync(meta) ? /^cluster\.id=(.+)$/m.exec(readFileSync(meta, 'utf8'))?.[1] : undefined;
    if (id) return id.trim();
  }
  return undefined;
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding. */
function newClusterId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}
