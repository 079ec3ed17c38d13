import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../../core/metrics.ts';

const registers = [metricsRegistry];

export const groupMetrics = {
  records: new Counter({
    name: 'shardline_consumer_records_total',
    help: 'Records applied by a consumer group',
    labelNames: ['group', 'topic'],
    registers,
  }),
  lag: new Gauge({
    name: 'shardline_consumer_lag',
    help: 'Records behind the end of the partition',
    labelNames: ['group', 'topic', 'partition'],
    registers,
  }),
  retries: new Counter({
    name: 'shardline_consumer_retries_total',
    help: 'Batches retried because the sink was unavailable',
    labelNames: ['group'],
    registers,
  }),
  deadLetters: new Counter({
    name: 'shardline_consumer_dead_letters_total',
    help: 'Records sent to the dead-letter topic',
    labelNames: ['group', 'reason'],
    registers,
  }),
  stuck: new Counter({
    name: 'shardline_consumer_stuck_total',
    help: 'Times one batch kept failing past the configured time (the group turned not ready)',
    labelNames: ['group'],
    registers,
  }),
  fatal: new Counter({
    name: 'shardline_consumer_fatal_errors_total',
    help: 'Consumer groups stopped by an error retrying cannot fix',
    labelNames: ['group'],
    registers,
  }),
  gaps: new Counter({
    name: 'shardline_consumer_gaps_total',
    help: 'Partitions whose unapplied records were deleted by retention before this group read them',
    labelNames: ['group', 'topic'],
    registers,
  }),
  endToEnd: new Histogram({
    name: 'shardline_consumer_end_to_end_seconds',
    help: 'From the source change (its approximate creation time) to its batch applied by the group',
    labelNames: ['group'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers,
  }),
  skipped: new Counter({
    name: 'shardline_consumer_replayed_skipped_total',
    help: 'Redelivered records below the sink progress, skipped',
    labelNames: ['group'],
    registers,
  }),
};
