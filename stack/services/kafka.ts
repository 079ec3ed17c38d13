import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { NATIVE_PORTS } from '../endpoints.ts';
import { repoRoot, serviceDir } from '../paths.ts';
import { requireJava } from '../prerequisites.ts';
import { mavenDependencies } from '../provision.ts';
import type { Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

const home = serviceDir('kafka');
const libDir = join(home, 'lib');
const dataDir = join(home, 'data');
const classpath = `${libDir}/*`;

// Transactions on one broker need the internal topics' replication factor and min ISR at 1.
const serverProperties = `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${NATIVE_PORTS.kafkaController}
listeners=PLAINTEXT://127.0.0.1:${NATIVE_PORTS.kafka},CONTROLLER://127.0.0.1:${NATIVE_PORTS.kafkaController}
advertised.listeners=PLAINTEXT://127.0.0.1:${NATIVE_PORTS.kafka}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
`;

const log4jProperties = `rootLogger.level=INFO
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

export const kafkaService: Service = {
  name: 'kafka',
  address: `127.0.0.1:${NATIVE_PORTS.kafka}`,
  ports: [NATIVE_PORTS.kafka, NATIVE_PORTS.kafkaController],
  readyTimeoutMs: 90_000,

  async provision() {
    mavenDependencies(join(repoRoot, 'stack/java/kafka/pom.xml'), libDir);
    writeFileSync(join(home, 'server.properties'), serverProperties);
    writeFileSync(join(home, 'log4j2.properties'), log4jProperties);
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      const java = requireJava(17);
      execFileSync(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId()}`, '--config', join(home, 'server.properties')], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  },

  async start() {
    const java = requireJava(17);
    return startDetached('kafka', java, [
      '-Xms256m', '-Xmx512m', '-XX:+UseG1GC',
      `-Dlog4j2.configurationFile=${join(home, 'log4j2.properties')}`,
      '-cp', classpath, 'kafka.Kafka', join(home, 'server.properties'),
    ]);
  },

  async ready() {
    const admin = new Kafka({ brokers: [this.address], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    } finally {
      await admin.disconnect();
    }
  },

  async version() {
    const jar = readdirSync(libDir).find((file) => /^kafka_2\.13-.*\.jar$/.test(file));
    return jar ? jar.replace(/^kafka_2\.13-|\.jar$/g, '') : 'unknown';
  },
};

/** A KRaft cluster id: 16 random bytes in URL-safe base64 without padding. */
function clusterId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}
