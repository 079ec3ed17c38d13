import { kafkaService } from './services/kafka.ts';
import { motoService } from './services/moto.ts';
import { opensearchService } from './services/opensearch.ts';
import { redisService } from './services/redis.ts';
import { registryService } from './services/registry.ts';
import type { Service } from './service.ts';
import { assertPortsFree } from './ports.ts';
import { runningPid, stopProcess, waitUntilReady } from './supervisor.ts';

export const services: readonly Service[] = [kafkaService, registryService, opensearchService, redisService, motoService];

export interface ServiceStatus {
  name: string;
  address: string;
  state: 'up' | 'starting' | 'down';
  pid: number | undefined;
  version: string | undefined;
}

type Progress = (message: string) => void;

/** Provisions and starts every service that is not running, then waits until all answer. Idempotent. */
export async function stackUp(progress: Progress = () => {}): Promise<void> {
  for (const service of services) {
    if (runningPid(service.name) === undefined) {
      progress(`${service.name}: provisioning`);
      await service.provision();
    }
  }
  await Promise.all(services.map(async (service) => {
    if (runningPid(service.name) === undefined) {
      await assertPortsFree(service.name, service.ports);
      const pid = await service.start();
      progress(`${service.name}: started (pid ${pid})`);
    }
    await waitUntilReady(service.name, () => service.ready(), service.readyTimeoutMs);
    progress(`${service.name}: ready at ${service.address}`);
  }));
}

/** Stops every service of the stack; stopping a stopped stack does nothing. */
export async function stackDown(progress: Progress = () => {}): Promise<void> {
  await Promise.all(services.map(async (service) => {
    if (await stopProcess(service.name)) progress(`${service.name}: stopped`);
  }));
}

export async function stackStatus(): Promise<ServiceStatus[]> {
  return Promise.all(services.map(async (service): Promise<ServiceStatus> => {
    const pid = runningPid(service.name);
    if (pid === undefined) return { name: service.name, address: service.address, state: 'down', pid, version: undefined };
    const ready = await service.ready().catch(() => false);
    const version = ready ? await service.version().catch(() => undefined) : undefined;
    return { name: service.name, address: service.address, state: ready ? 'up' : 'starting', pid, version };
  }));
}

