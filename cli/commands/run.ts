import type { ClickHouseClient } from '@clickhouse/client';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { PartHealth } from '../../core/health.ts';
import { startHttp, type HttpOptions } from '../../core/http.ts';
import { logger } from '../../core/logger.ts';
import { registerProcess } from '../../core/run-registry.ts';
import { sinkConfigOf, type ShardlineConfig } from '../config/schema.ts';
import { readOnlyQuery } from '../../consumers/clickhouse/read-only-query.ts';
import type { SinkDefinition } from '../../consumers/runtime/sink-definition.ts';
import {
  buildConnector,
  buildConsumerGroups,
  clickhouseOf,
  topicsFor,
  usesClickHouse,
  type PipelineConnector,
} from '../pipeline.ts';
import type { PipelineGroup } from '../topic-watch.ts';

export interface RunningPipeline {
  connector: PipelineConnector | undefined;
  groups: PipelineGroup[];
  /** Each part's readiness, as `/ready` answers it. */
  health(): PartHealth[];
  clickhouse: ClickHouseClient | undefined;
  /** The HTTP endpoint, when it started (the port may be taken by another process). */
  http: { host: string; port: number } | undefined;
  /**
   * Rejects when a part stops on its own: the connector (a gap under `fail`, fenced by another
   * instance, a fatal error) or a consumer group (a fatal error). Never resolves while all run.
   */
  failed: Promise<never>;
  stop(): Promise<void>;
}

/**
 * The HTTP endpoint on the configured port or, when another process on the machine holds that port (a
 * connector and a consumer started side by side with one config), on a free one: `status` and `query`
 * find it through the registry of running processes, and the warning names it for a scrape config.
 */
async function startHttpEndpoint(
  config: ShardlineConfig,
  handlers: Pick<HttpOptions, 'health' | 'query'>,
): Promise<Server | undefined> {
  const { host, port } = config.http;
  try {
    return await startHttp({ host, port, ...handlers });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) {
      logger.warn(
        { err: error, host, port },
        'HTTP endpoint not started: no metrics, readiness or queries from this process',
      );
      return undefined;
    }
  }
  const server = await startHttp({ host, port: 0, ...handlers });
  const used = (server.address() as AddressInfo).port;
  logger.warn(
    { configured: port, port: used },
    `http.port ${port} is in use by another process; metrics, readiness and queries are on ${host}:${used} (set http.port per process for a fixed scrape target)`,
  );
  return server;
}

/**
 * Starts the connector and/or consumer groups in this process, each group still its own Kafka consumer
 * group, plus the HTTP endpoint (metrics, health, and queries for embedded ClickHouse).
 */
export async function startPipeline(
  config: ShardlineConfig,
  parts: { connector: boolean; sinks: readonly SinkDefinition[]; http?: boolean; register?: string },
): Promise<RunningPipeline> {
  let started = false;
  // Assigned below; /ready asks them once everything has started, and the connector while it starts (it
  // says what it waits for; a group says nothing of use before it has joined).
  let connector: PipelineConnector | undefined = undefined;
  let groups: PipelineGroup[] = [];
  const clickhouse = parts.sinks.some(usesClickHouse) ? await clickhouseOf(config) : undefined;
  const health = (): PartHealth[] => {
    if (!started)
      return [{ part: 'process', ready: false, detail: 'starting' }, ...(connector ? [connector.health()] : [])];
    return [...(connector ? [connector.health()] : []), ...groups.map((group) => group.health())];
  };
  let server: Server | undefined;
  if (parts.http !== false) {
    const query = clickhouse ? (sql: string) => readOnlyQuery(clickhouse, sql) : undefined;
    server = await startHttpEndpoint(config, { health, query });
  }
  const http = server ? { host: config.http.host, port: (server.address() as AddressInfo).port } : undefined;
  // A command the user started (`register` names it) is what `shardline status` finds on this machine, and
  // where `query` goes for the embedded ClickHouse this process holds: from before its parts are built and
  // started, which can take long (a broker or the registry not answering yet, the connector behind a dead
  // owner's transaction).
  const unregister =
    parts.register === undefined
      ? undefined
      : registerProcess({
          command: parts.register,
          http,
          clickhouse: clickhouse && !config.clickhouse.url ? resolve(config.clickhouse.path) : undefined,
          connector: parts.connector
            ? { name: config.connector.name, checkpoints: config.connector.topics.checkpoints }
            : undefined,
          groups: parts.sinks.map((sink) => sinkConfigOf(config.consumers, sink).groupId),
          topics: topicsFor(config),
          deadLetter: config.connector.topics.deadLetter,
        });
  try {
    groups = parts.sinks.length > 0 ? await buildConsumerGroups(config, parts.sinks, clickhouse) : [];
    await Promise.all(groups.map((group) => group.start()));
    connector = parts.connector ? await buildConnector(config) : undefined;
    await connector?.start();
  } catch (error) {
    unregister?.();
    throw error;
  }
  const failed = Promise.race([
    ...(connector ? [connector.failed] : []),
    ...groups.map((group) => group.failed),
    new Promise<never>(() => {}),
  ]);
  failed.catch(() => undefined);
  started = true;
  return {
    connector,
    groups,
    health,
    clickhouse,
    http,
    failed,
    async stop() {
      started = false;
      unregister?.();
      await connector?.stop();
      await Promise.all(groups.map((group) => group.stop()));
      await clickhouse?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    },
  };
}
