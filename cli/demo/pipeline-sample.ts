import type { MetricValue } from 'prom-client';
import { connectorMetrics } from '../../connector/metrics.ts';
import { groupMetrics } from '../../consumers/runtime/metrics.ts';

/** The in-process counters the demo screen turns into rates, read at one moment. */
export interface PipelineSample {
  at: number;
  eventsIn: number;
  /** Per group: records applied, records behind, end-to-end seconds summed and counted so far, dead letters. */
  groups: Map<string, { applied: number; lag: number; delaySum: number; delayCount: number }>;
  deadLetters: number;
}

const total = (values: MetricValue<string>[]): number => values.reduce((sum, value) => sum + value.value, 0);

/** Reads the process's own metrics (the demo runs the whole pipeline in one process). */
export async function samplePipeline(groupIds: string[], at = Date.now()): Promise<PipelineSample> {
  const [records, applied, lag, delay, connectorLetters, groupLetters] = await Promise.all([
    connectorMetrics.records.get(),
    groupMetrics.records.get(),
    groupMetrics.lag.get(),
    groupMetrics.endToEnd.get(),
    connectorMetrics.deadLetters.get(),
    groupMetrics.deadLetters.get(),
  ]);
  const of = (values: MetricValue<string>[], group: string, name?: string) =>
    total(
      values.filter(
        (value) =>
          value.labels.group === group &&
          (name === undefined || (value as { metricName?: string }).metricName === name),
      ),
    );
  return {
    at,
    eventsIn: total(records.values),
    groups: new Map(
      groupIds.map((group) => [
        group,
        {
          applied: of(applied.values, group),
          lag: of(lag.values, group),
          delaySum: of(delay.values, group, 'shardline_consumer_end_to_end_seconds_sum'),
          delayCount: of(delay.values, group, 'shardline_consumer_end_to_end_seconds_count'),
        },
      ]),
    ),
    deadLetters: total(connectorLetters.values) + total(groupLetters.values),
  };
}
