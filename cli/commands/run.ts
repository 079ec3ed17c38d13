import type { ClickHouseClient } from '@clickhouse/client';
import type { Server } from 'node:http';
import type { PartHealth } from '../../core/health.ts';
import { startHttp } from '../../core/http.ts';
import { logger } from '../../core/logger.ts';
import { registerProcess } from '../../core/run-registry.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import type { Connector } from '../../connector/connector.ts';
import type { ScaledConnector } from '../../connector/scale-out/scaled-connector.ts';
import { readOnlyQuery } from '../../consumers/clickhouse/read-only-query.ts';
import type { ConsumerGroup } from '../../consumers/runtime/group.ts';
import type { SinkDefinition } from '../../consumers/runtime/sink-definition.ts';
import { buildConnector, buildConsumerGroups, clickhouseOf, topicsFor, usesClickHouse } from '../pipeline.ts';

export interface RunningPipeline {
  connector: Connector | ScaledConnector | undefined;
  groups: ConsumerGroup[];
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
 * Starts the connector and/or consumer groups in this process, each group still its own Kafka consumer
 * group, plus the HTTP endpoint (metrics, health, and queries for embedded ClickHouse).
 */
export async function startPipeline(config: ShardlineConfig, parts: { connector: boolean; sinks: readonly SinkDefinition[]; http?: boolean; register?: string }): Promise<RunningPipeline> {
  let started = false;
  // Assigned below; /ready asks them once everything has started.
  let connector: Connector | ScaledConnector | undefined = undefined;
  let groups: ConsumerGroup[] = [];
  const clickhouse = parts.sinks.some(usesClickHouse) ? await clickhouseOf(config) : undefined;
  const health = (): PartHealth[] => {
    if (!started) return [{ part: 'process', ready: false, detail: 'starting' }];
    return [...(connector ? [connector.health()] : []), ...groups.map((group) => group.health())];
  };
  let server: Server | undefined;
  if (parts.http !== false) {
    const query = clickhouse ? (sql: string) => readOnlyQuery(clickhouse, sql) : undefined;
    server = await startHttp({ host: config.http.host, port: config.http.port, health, query }).catch((error: unknown) => {
      logger.warn({ err: error, port: config.http.port }, 'HTTP endpoint not started (port in use?)');
      return undefined;
    });
  }
  groups = parts.sinks.length > 0 ? await buildConsumerGroups(config, parts.sinks, clickhouse) : [];
  await Promise.all(groups.map((group) => group.start()));
  connector = parts.connector ? await buildConnector(config) : undefined;
  const connectorDone = connector?.start().then(() => Promise.reject(new Error('the connector stopped')));
  const failed = Promise.race([...(connectorDone ? [connectorDone] : []), ...groups.map((group) => group.failed), new Promise<never>(() => {})]);
  failed.catch(() => undefined);
  started = true;
  const http = server ? { host: config.http.host, port: config.http.port } : undefined;
  // A command the user started (`register` names it) is what `shardline status` finds on this machine.
  const unregister = parts.register === undefined ? undefined : registerProcess({
    command: parts.register,
    http,
    connector: connector ? { name: config.connector.name, checkpoints: config.connector.topics.checkpoints } : undefined,
    groups: groups.map((group) => group.groupId),
    topics: topicsFor(config),
    deadLetter: config.connector.topics.deadLetter,
  });
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
