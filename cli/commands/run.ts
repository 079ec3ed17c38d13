import type { ClickHouseClient } from '@clickhouse/client';
import type { Server } from 'node:http';
import { startHttp } from '../../core/http.ts';
import { logger } from '../../core/logger.ts';
import type { ShardlineConfig } from '../../core/config/schema.ts';
import type { Connector } from '../../connector/connector.ts';
import type { ConsumerGroup } from '../../consumers/runtime/group.ts';
import { CLICKHOUSE_SINKS, buildConnector, buildConsumerGroups, clickhouseOf, type SinkName } from '../pipeline.ts';

export interface RunningPipeline {
  connector: Connector | undefined;
  groups: ConsumerGroup[];
  clickhouse: ClickHouseClient | undefined;
  /** Rejects when the connector stops on its own (a gap under `fail`, or fenced by another instance). */
  connectorDone: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the connector and/or consumer groups in this process, each group still its own Kafka consumer
 * group, plus the HTTP endpoint (metrics, health, and queries for embedded ClickHouse).
 */
export async function startPipeline(config: ShardlineConfig, parts: { connector: boolean; sinks: SinkName[]; http?: boolean }): Promise<RunningPipeline> {
  let ready = false;
  const clickhouse = parts.sinks.some((sink) => CLICKHOUSE_SINKS.includes(sink)) ? await clickhouseOf(config) : undefined;
  let server: Server | undefined;
  if (parts.http !== false) {
    server = await startHttp({ host: config.http.host, port: config.http.port, ready: () => ready, clickhouse }).catch((error: unknown) => {
      logger.warn({ err: error, port: config.http.port }, 'HTTP endpoint not started (port in use?)');
      return undefined;
    });
  }
  const groups = parts.sinks.length > 0 ? await buildConsumerGroups(config, parts.sinks, clickhouse) : [];
  await Promise.all(groups.map((group) => group.start()));
  const connector = parts.connector ? await buildConnector(config) : undefined;
  const connectorDone = connector ? connector.start() : new Promise<void>(() => {});
  ready = true;
  return {
    connector,
    groups,
    clickhouse,
    connectorDone,
    async stop() {
      ready = false;
      await connector?.stop();
      await Promise.all(groups.map((group) => group.stop()));
      await clickhouse?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    },
  };
}
