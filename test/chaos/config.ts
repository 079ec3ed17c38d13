import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ShardlineConfigInput } from '../../cli/config/schema.ts';
import { testEndpoints } from '../harness/endpoints.ts';

/** A table of the run and its change topic (the tables hold orders only). */
export interface TableNames {
  table: string;
  topic: string;
}

/** Every name one chaos run uses, derived from its prefix so that runs never share state. */
export interface RunNames {
  prefix: string;
  /** The table read through DynamoDB Streams. */
  streams: TableNames;
  /** The table read through Kinesis Data Streams for DynamoDB, and its Kinesis stream. */
  kinesis: TableNames & { stream: string };
  checkpoints: string;
  deadLetter: string;
  auditTable: string;
  searchAlias: string;
  groups: Record<'rollups' | 'audit' | 'search' | 'cache', string>;
}

export function runNames(prefix: string, streamsTable: string, kinesisTable: string): RunNames {
  return {
    prefix,
    streams: { table: streamsTable, topic: `${prefix}.${streamsTable}.order` },
    kinesis: { table: kinesisTable, topic: `${prefix}.${kinesisTable}.order`, stream: `${prefix}-kds` },
    checkpoints: `${prefix}.checkpoints`,
    deadLetter: `${prefix}.dlq`,
    auditTable: `audit_${prefix.replaceAll('-', '_')}`,
    searchAlias: `${prefix}-order`,
    groups: { rollups: `${prefix}-rollups`, audit: `${prefix}-audit`, search: `${prefix}-search`, cache: `${prefix}-cache` },
  };
}

/** The connector's `scaleOut` block, for a run with several connector instances. */
export interface ScaleOutConfig {
  units: number;
  sessionTimeoutMs: number;
  discoveryIntervalMs: number;
}

export const changeTopics = (names: RunNames): string[] => [names.streams.topic, names.kinesis.topic];

/**
 * The config file every process of the run reads, as a user would write it. What differs per process
 * (its http port, the embedded ClickHouse directory) comes from SHARDLINE_CONFIG__ overrides. AWS is
 * reached through `awsEndpoint`: the trimming proxy in front of moto. With `scaleOut`, every connector
 * instance shares the one connector name.
 */
export function writeRunConfig(dir: string, names: RunNames, brokers: string[], awsEndpoint: string, scaleOut?: ScaleOutConfig): string {
  const endpoints = testEndpoints();
  const config: ShardlineConfigInput = {
    aws: { region: 'us-east-1', endpoint: awsEndpoint, credentials: { accessKeyId: 'shardline', secretAccessKey: 'shardline' } },
    kafka: { brokers },
    registry: { url: endpoints.registryUrl },
    connector: {
      name: `${names.prefix}-connector`,
      tables: [
        { name: names.streams.table, entities: ['order'] },
        { name: names.kinesis.table, source: 'kinesis', kinesisStream: names.kinesis.stream, entities: ['order'] },
      ],
      topics: { template: `${names.prefix}.{table}.{entity}`, checkpoints: names.checkpoints, deadLetter: names.deadLetter },
      polling: { idleMinMs: 50, idleMaxMs: 250, ...(scaleOut && { discoveryIntervalMs: scaleOut.discoveryIntervalMs }) },
      gapPolicy: 'resnapshot',
      ...(scaleOut && { scaleOut: { units: scaleOut.units, sessionTimeoutMs: scaleOut.sessionTimeoutMs } }),
    },
    consumers: {
      // Short sessions: a killed member leaves its group within seconds, not the default 30.
      sessionTimeoutMs: 6_000,
      rollups: { groupId: names.groups.rollups },
      audit: { groupId: names.groups.audit, table: names.auditTable },
      search: { groupId: names.groups.search, url: endpoints.opensearchUrl, indexPrefix: names.prefix, replicas: 0, documents: { order: { text: ['category', 'status'] } } },
      cache: { groupId: names.groups.cache, url: endpoints.redisUrl, keyPrefix: names.prefix, ttlSeconds: 0 },
    },
  };
  const path = join(dir, 'shardline.yaml');
  writeFileSync(path, stringify(config));
  return path;
}
