import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { ChangeEventCodec } from '../../schemas/registry.ts';
import { supervised, type Service } from '../../stack/service.ts';
import { opensearchService } from '../../stack/services/opensearch.ts';
import { redisService } from '../../stack/services/redis.ts';
import { registryService } from '../../stack/services/registry.ts';
import { runningPid, stopProcess, waitUntilReady } from '../../stack/supervisor.ts';
import type { KafkaTestCluster } from '../harness/kafka-cluster.ts';
import { testEndpoints } from '../harness/endpoints.ts';
import { freeze, restartRedis } from '../harness/servers.ts';
import type { BrokerTarget } from './plan.ts';

/** The stack's servers a chaos run takes down: never its Kafka, which the run does not use. */
const STACK_SERVICES: readonly Service[] = [registryService, opensearchService, redisService];

/**
 * Resolves a broker target to a node id: the broker the metadata answer names as controller (in KRaft
 * that is any live broker, not necessarily the active quorum controller), the leader of partition 0 of
 * the change topic, or a node chosen by the plan's random number.
 */
export async function brokerToKill(kafka: Kafka, topic: string, target: BrokerTarget, pick: number, brokers: number): Promise<number> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    if (target === 'controller') return (await admin.describeCluster()).controller ?? 1 + (pick % brokers);
    if (target === 'leader') {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      return metadata?.partitions.find((partition) => partition.partitionId === 0)?.leader ?? 1 + (pick % brokers);
    }
  } catch {
    // The cluster did not answer (a broker is coming back): any node will do.
  } finally {
    await admin.disconnect();
  }
  return 1 + (pick % brokers);
}

/** Kills a broker with SIGKILL, waits, starts it again and waits until it is back in the cluster. */
export async function restartBroker(cluster: KafkaTestCluster, id: number, downMs: number): Promise<void> {
  await cluster.stopBroker(id, { hard: true });
  await sleep(downMs);
  await cluster.startBroker(id);
}

/**
 * Stops the registry and starts it again. The stack's registry keeps its schemas in memory, so a restart
 * loses them; a production registry keeps them (Kafka or SQL storage). To model that, the run registers
 * the change-event schema again as soon as it answers and checks that it got the id it had: the content
 * is the only one the registry holds, so the id it gets is the same when nothing else was registered first.
 */
export async function restartRegistry(topic: string, downMs: number): Promise<{ idBefore: number; idAfter: number }> {
  const idBefore = await new ChangeEventCodec({ url: testEndpoints().registryUrl }).schemaId(topic);
  await stopProcess('registry');
  await sleep(downMs);
  await registryService.start();
  const deadline = Date.now() + registryService.readyTimeoutMs;
  // Polled often: a process asking for the schema by id before it is back would dead-letter the record.
  while (!(await registryService.ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the registry did not come back');
    await sleep(100);
  }
  const idAfter = await new ChangeEventCodec({ url: testEndpoints().registryUrl }).schemaId(topic);
  return { idBefore, idAfter };
}

export const freezeOpenSearch = (downMs: number): Promise<void> => freeze('opensearch', downMs);

export const bounceRedis = (downMs: number): Promise<void> => restartRedis(downMs);

/**
 * Leaves the stack's registry, OpenSearch and Redis running and answering, whatever state a run left them
 * in (frozen, stopped): called at the end of every run, also a failed or interrupted one.
 */
export async function restoreStack(): Promise<void> {
  for (const service of STACK_SERVICES) {
    const pid = runningPid(supervised(service));
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGCONT');
      } catch {
        // Gone between the two calls: started below.
      }
    }
    if (runningPid(supervised(service)) === undefined) await service.start();
  }
  await Promise.all(STACK_SERVICES.map((service) => waitUntilReady(supervised(service), () => service.ready(), service.readyTimeoutMs)));
}
