import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../core/metrics.ts';

const registers = [metricsRegistry];

export const connectorMetrics = {
  records: new Counter({
    name: 'shardline_connector_records_total',
    help: 'Change events written to Kafka',
    labelNames: ['table', 'op'],
    registers,
  }),
  bytes: new Counter({
    name: 'shardline_connector_bytes_total',
    help: 'Bytes of change events written to Kafka',
    labelNames: ['table'],
    registers,
  }),
  transactions: new Counter({
    name: 'shardline_connector_transactions_total',
    help: 'Kafka transactions by outcome',
    labelNames: ['outcome'],
    registers,
  }),
  deadLetters: new Counter({
    name: 'shardline_connector_dead_letters_total',
    help: 'Records sent to the dead-letter topic',
    labelNames: ['table', 'reason'],
    registers,
  }),
  duplicates: new Counter({
    name: 'shardline_connector_duplicates_dropped_total',
    help: 'Source duplicates removed (Kinesis)',
    labelNames: ['stream'],
    registers,
  }),
  gaps: new Counter({
    name: 'shardline_connector_gaps_total',
    help: 'Gaps found in a stream (trimmed or vanished shards)',
    labelNames: ['stream', 'shard', 'policy'],
    registers,
  }),
  iteratorAge: new Gauge({
    name: 'shardline_connector_iterator_age_seconds',
    help: 'Age of the newest record read from a shard',
    labelNames: ['stream', 'shard'],
    registers,
  }),
  trimHeadroom: new Gauge({
    name: 'shardline_connector_trim_headroom_seconds',
    help: 'Time left before the stream trims records this shard has not read yet (retention minus iterator age)',
    labelNames: ['stream', 'shard'],
    registers,
  }),
  stuck: new Counter({
    name: 'shardline_connector_stuck_total',
    help: 'Times rounds kept failing past the configured time (the connector turned not ready)',
    registers,
  }),
  activeShards: new Gauge({
    name: 'shardline_connector_active_shards',
    help: 'Shards being read (per unit when scaled out)',
    labelNames: ['stream', 'unit'],
    registers,
  }),
  units: new Gauge({
    name: 'shardline_connector_units',
    help: 'Assignment units this instance reads (scaled out)',
    registers,
  }),
  rebalances: new Counter({
    name: 'shardline_connector_rebalances_total',
    help: 'Assignments this instance received from the group (scaled out)',
    registers,
  }),
  rebalancePause: new Gauge({
    name: 'shardline_connector_rebalance_pause_seconds',
    help: 'The last rebalance: from when this instance stopped its units to when every unit it was given had fenced and loaded its checkpoints',
    registers,
  }),
};
