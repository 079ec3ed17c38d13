import { kafkaClusterServices, kafkaClustersOnDisk, kafkaService } from './services/kafka.ts';
import { motoService } from './services/moto.ts';
import { opensearchService } from './services/opensearch.ts';
import { redisService } from './services/redis.ts';
import { registryService } from './services/registry.ts';
import { supervised, type Service } from './service.ts';
import { assertPortsFree } from './ports.ts';
import { runningPid, stopProcess, waitUntilReady } from './supervisor.ts';

const otherServices: readonly Service[] = [registryService, opensearchService, redisService, motoService];

export interface StackOptions {
  /** Kafka nodes: 1 is the single default node, more run a cluster on 9092, 9094, … */
  brokers?: number;
}

/** Kafka as the single default node or as a cluster of `brokers` nodes. */
export const kafkaServices = ({ brokers = 1 }: StackOptions = {}): Service[] =>
  brokers === 1 ? [kafkaService] : kafkaClusterServices(brokers);

/** The SHARDLINE_KAFKA_BROKERS value for the stack's Kafka. */
export const kafkaBrokers = (options: StackOptions = {}): string =>
  stackKafka(options)
    .map((service) => service.address)
    .join(',');

const isRunning = (service: Service): boolean => runningPid(supervised(service)) !== undefined;

/** The Kafka that is running, single node or cluster; the single node when none runs. */
function runningKafka(): Service[] {
  return kafkaClustersOnDisk().find((nodes) => nodes.some(isRunning)) ?? [kafkaService];
}

/**
 * The Kafka `stackUp` brings up: `brokers` nodes when asked, else the one that runs. The demo and the tests call
 * it without a count; after `stack up --brokers 3` they tried to start a single node on the cluster's port 9092.
 */
export const stackKafka = (options: StackOptions = {}): Service[] =>
  options.brokers === undefined ? runningKafka() : kafkaServices(options);

export interface ServiceStatus {
  name: string;
  address: string;
  state: 'up' | 'starting' | 'down';
  pid: number | undefined;
  version: string | undefined;
}

type Progress = (message: string) => void;

/** Provisions and starts every service that is not running, then waits until all answer. Idempotent. */
export async function stackUp(progress: Progress = () => {}, options: StackOptions = {}): Promise<void> {
  const services = [...stackKafka(options), ...otherServices];
  for (const service of services) {
    if (!isRunning(service)) {
      progress(`${service.name}: provisioning`);
      await service.provision();
    }
  }
  await Promise.all(
    services.map(async (service) => {
      if (!isRunning(service)) {
        await assertPortsFree(service.name, service.ports);
        const pid = await service.start();
        progress(`${service.name}: started (pid ${pid})`);
      }
      await waitUntilReady(supervised(service), () => service.ready(), service.readyTimeoutMs);
      progress(`${service.name}: ready at ${service.address}`);
    }),
  );
}

/** Stops every service of the stack, Kafka whether single node or cluster; stopping a stopped stack does nothing. */
export async function stackDown(progress: Progress = () => {}): Promise<void> {
  const services = [kafkaService, ...kafkaClustersOnDisk().flat(), ...otherServices];
  await Promise.all(
    services.map(async (service) => {
      if (await stopProcess(supervised(service))) progress(`${service.name}: stopped`);
    }),
  );
}

export async function stackStatus(): Promise<ServiceStatus[]> {
  return Promise.all(
    [...runningKafka(), ...otherServices].map(async (service): Promise<ServiceStatus> => {
      const pid = runningPid(supervised(service));
      if (pid === undefined)
        return { name: service.name, address: service.address, state: 'down', pid, version: undefined };
      const ready = await service.ready().catch(() => false);
      const version = ready ? await service.version().catch(() => undefined) : undefined;
      return { name: service.name, address: service.address, state: ready ? 'up' : 'starting', pid, version };
    }),
  );
}
