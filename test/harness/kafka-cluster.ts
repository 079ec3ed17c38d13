import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerAddress, kafkaClusterLayout } from '../../stack/kafka-config.ts';
import { assertPortsFree } from '../../stack/ports.ts';
import { requireJava } from '../../stack/java-runtime.ts';
import { MissingPrerequisite } from '../../stack/prerequisites.ts';
import { requireMaven } from '../../stack/provision.ts';
import { supervised, type Service } from '../../stack/service.ts';
import { CLUSTER_NODE_HEAP, kafkaNodeServices } from '../../stack/services/kafka.ts';
import { runningPid, stopProcess, waitUntilReady } from '../../stack/supervisor.ts';

export interface KafkaTestCluster {
  /** Bootstrap addresses of every node, for `new Kafka({ brokers })`. */
  brokers: string[];
  /** Stops node `id` (1..N) with a controlled shutdown, or with SIGKILL when `hard`; its data stays. */
  stopBroker(id: number, options?: { hard?: boolean }): Promise<void>;
  /** Starts node `id` again and waits until it is back in the cluster. */
  startBroker(id: number): Promise<void>;
  /** Kills every node and removes the cluster's data. */
  stop(): Promise<void>;
}

/** Why a test cluster cannot run on this machine (no Java 17+ or no Maven for the jars), or undefined. */
export function kafkaClusterUnavailable(): string | undefined {
  try {
    requireJava(17);
    requireMaven();
    return undefined;
  } catch (error) {
    if (error instanceof MissingPrerequisite) return error.message;
    throw error;
  }
}

/**
 * Starts a throwaway KRaft cluster of `brokers` nodes on ports from `basePort` on (node i: broker
 * base+2(i-1), controller the next), with its data in a temporary directory, beside the stack's own
 * Kafka. The nodes are the stack's cluster nodes with other ports and directories. Call `stop()` in an
 * `after` hook; a test process that exits or is interrupted (SIGINT, SIGTERM) without it still kills
 * the nodes and removes their data.
 */
export async function startKafkaCluster({
  brokers,
  basePort,
}: {
  brokers: number;
  basePort: number;
}): Promise<KafkaTestCluster> {
  const home = mkdtempSync(join(tmpdir(), `shardline-kafka-${basePort}-`));
  const layout = kafkaClusterLayout(brokers, basePort, (id) => join(home, `node-${id}`));
  const nodes = kafkaNodeServices(layout, {
    name: (node) => `test-kafka-${node.id}@${node.brokerPort}`,
    heap: CLUSTER_NODE_HEAP,
  });
  // The nodes run detached (in their own process groups): without this they would outlive a test
  // process that exits or is interrupted before `stop()`.
  const cleanUpOnExit = (): void => {
    for (const node of nodes) {
      const pid = runningPid(supervised(node));
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    }
    rmSync(home, { recursive: true, force: true });
  };
  const cleanUpOnSignal = (signal: NodeJS.Signals): void => {
    cleanUpOnExit();
    process.kill(process.pid, signal);
  };
  process.on('exit', cleanUpOnExit);
  process.once('SIGINT', cleanUpOnSignal);
  process.once('SIGTERM', cleanUpOnSignal);

  const nodeWithId = (id: number): Service => {
    const node = nodes[id - 1];
    if (!node) throw new Error(`the cluster has nodes 1..${nodes.length}, not ${id}`);
    return node;
  };
  const start = async (node: Service): Promise<void> => {
    await assertPortsFree(node.name, node.ports);
    await node.start();
    await waitUntilReady(supervised(node), () => node.ready(), node.readyTimeoutMs);
  };
  const stop = async (): Promise<void> => {
    // A throwaway cluster needs no controlled shutdown.
    await Promise.all(nodes.map((node) => stopProcess(supervised(node), 0)));
    process.off('exit', cleanUpOnExit);
    process.off('SIGINT', cleanUpOnSignal);
    process.off('SIGTERM', cleanUpOnSignal);
    rmSync(home, { recursive: true, force: true });
  };

  try {
    for (const node of nodes) await node.provision();
    await Promise.all(nodes.map(start));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    brokers: layout.nodes.map(brokerAddress),
    stopBroker: async (id, { hard = false } = {}) => {
      const node = supervised(nodeWithId(id));
      const pid = runningPid(node);
      // SIGKILL first, so the node has no chance of a controlled shutdown (as a crashed machine).
      if (hard && pid !== undefined) process.kill(-pid, 'SIGKILL');
      await stopProcess(node);
    },
    startBroker: (id) => start(nodeWithId(id)),
    stop,
  };
}
