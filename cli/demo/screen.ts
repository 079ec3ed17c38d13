import type { PartHealth } from '../../core/health.ts';
import { formatCount, formatRate, formatTable } from '../format.ts';
import type { PipelineSample } from './pipeline-sample.ts';
import type { DailySalesRow } from './workload.ts';

export interface DemoFrame {
  /** Names the groups by what they do: the demo's group ids carry a run prefix. */
  groupNames: Map<string, string>;
  now: PipelineSample;
  /** The sample of the previous frame: rates and delays are over the time between the two. */
  before: PipelineSample | undefined;
  workload: { operations: number; orders: number };
  /** The parts' health: one not ready is named, with why, above the figures. */
  parts: PartHealth[];
  sales: DailySalesRow[];
  /** Rows of the rollup shown (the latest days). */
  salesRows: number;
}

const seconds = (value: number): string => (value < 10 ? `${value.toFixed(2)} s` : `${Math.round(value)} s`);

/** The demo screen: what the pipeline is doing (events a second in and out, lag, delay, dead letters), then the live rollup. */
export function demoScreenLines(frame: DemoFrame): string[] {
  const { now, before } = frame;
  const interval = before ? Math.max(0.001, (now.at - before.at) / 1000) : 0;
  const rate = (current: number, previous: number | undefined) =>
    interval > 0 && previous !== undefined ? formatRate((current - previous) / interval) : '';
  const groups = [...now.groups].map(([group, figures]) => {
    const previous = before?.groups.get(group);
    const changes = figures.delayCount - (previous?.delayCount ?? 0);
    return {
      group: frame.groupNames.get(group) ?? group,
      'applied/s': rate(figures.applied, previous?.applied),
      applied: formatCount(figures.applied),
      lag: formatCount(figures.lag),
      // The mean over the changes applied since the last frame: how old the latest changes were when they landed.
      'end-to-end': changes > 0 ? seconds((figures.delaySum - (previous?.delaySum ?? 0)) / changes) : '',
    };
  });
  return [
    `Shardline demo · ${formatCount(frame.workload.operations)} operations on ${formatCount(frame.workload.orders)} live orders` +
      ` · events in ${rate(now.eventsIn, before?.eventsIn) || '…'}/s (${formatCount(now.eventsIn)} written)` +
      ` · dead letters ${formatCount(now.deadLetters)}`,
    ...frame.parts.filter((part) => !part.ready).map((part) => `NOT READY ${part.part}: ${part.detail ?? ''}`),
    '',
    ...formatTable(groups),
    '',
    'daily_sales (latest days):',
    ...formatTable(frame.sales.slice(-frame.salesRows)),
  ];
}
