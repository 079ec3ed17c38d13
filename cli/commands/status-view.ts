import { formatCount, formatDuration, formatRate, formatTable } from '../format.ts';
import type { PipelineStatus, StatusReport } from './status.ts';

const readiness = (ready: boolean | undefined): string =>
  ready === undefined ? 'no answer' : ready ? 'ready' : 'NOT READY';

/** Records behind from which a group counts as working through a backlog. */
const BACKLOG = 100;

/**
 * How a group is catching up, from its lag now and `seconds` ago: records a second and the time left at
 * that pace (the progress of a group working through a backlog).
 */
export function catchUp(lagBefore: number | undefined, lagNow: number, seconds: number): string {
  if (lagNow === 0) return 'caught up';
  // A live workload keeps a few records in flight: that is no backlog to report a pace for.
  if (lagNow < BACKLOG) return 'keeping up';
  if (lagBefore === undefined || seconds <= 0) return '';
  const perSecond = (lagBefore - lagNow) / seconds;
  if (perSecond <= 0) return lagNow > lagBefore ? 'growing' : 'not moving';
  return `${formatRate(perSecond)}/s, ~${formatDuration(lagNow / perSecond)} left`;
}

/** A DynamoDB stream ARN as `table stream label` (the account and region add nothing on one screen). */
const shortStream = (stream: string): string =>
  stream.replace(/^arn:aws:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/(.+)$/, '$1 stream $2');

/**
 * A shard's state. With no process found, only the checkpoints speak: an unfinished shard is read only if a
 * connector elsewhere reports on it (its metrics or, scaled out, its unit's owner), else it is just not finished.
 */
function shardState(shard: PipelineStatus['shards'][number], source: PipelineStatus['source']): string {
  if (shard.finished) return 'finished';
  const read = source === 'process' || shard.iteratorAgeSeconds !== undefined || shard.unit !== undefined;
  if (!read) return 'not finished';
  return shard.stream.startsWith('snapshot:') ? 'scanning' : 'reading';
}

function pipelineLines(pipeline: PipelineStatus, previous: PipelineStatus | undefined, seconds: number): string[] {
  const title =
    pipeline.source === 'process'
      ? `${pipeline.command} (pid ${pipeline.pid}, since ${pipeline.startedAt?.slice(11, 19)}, http ${pipeline.http ?? 'none'}): ${readiness(pipeline.ready)}`
      : `configured pipeline (no running shardline process found; http ${pipeline.http ?? 'none'}): ${readiness(pipeline.ready)}`;
  const notReady = pipeline.parts
    .filter((part) => !part.ready)
    .map((part) => `  ${part.part}: not ready${part.detail ? ` (${part.detail})` : ''}`);
  const scaledOut = pipeline.shards.some((shard) => shard.unit !== undefined);
  // A finished shard (or snapshot segment) is read to its end: its age and headroom no longer mean anything.
  const shards = pipeline.shards.map((shard) => ({
    stream: shortStream(shard.stream),
    shard: shard.shard,
    'iterator age':
      shard.iteratorAgeSeconds === undefined || shard.finished ? '' : formatDuration(shard.iteratorAgeSeconds),
    'trim headroom':
      shard.trimHeadroomSeconds === undefined || shard.finished ? '' : formatDuration(shard.trimHeadroomSeconds),
    state: shardState(shard, pipeline.source),
    // Scaled out: the unit and the instance that reads it (none while the group rebalances).
    ...(scaledOut && { unit: String(shard.unit ?? ''), owner: shard.owner ?? (shard.finished ? '' : 'rebalancing') }),
  }));
  const partOf = (group: string) => pipeline.parts.find((part) => part.part === `group ${group}`);
  const groups = pipeline.groups.map((group) => ({
    group: group.group,
    lag: formatCount(group.lag),
    partitions: group.partitions.length,
    ready: partOf(group.group) ? readiness(partOf(group.group)!.ready) : '',
    progress:
      group.partitions.length === 0
        ? 'no topics yet'
        : catchUp(previous?.groups.find((before) => before.group === group.group)?.lag, group.lag, seconds),
  }));
  return [
    title,
    ...notReady,
    ...(shards.length > 0 ? ['', ...formatTable(shards).map((line) => `  ${line}`)] : []),
    '',
    ...formatTable(groups).map((line) => `  ${line}`),
    '',
    `  dead letters: ${formatCount(pipeline.deadLetters)}${pipeline.deadLetters > 0 ? ' (npx shardline dlq list)' : ''}`,
  ];
}

/** The status screen; `previous` (a report `seconds` earlier, under --watch) adds each group's catch-up pace. */
export function statusLines(report: StatusReport, previous?: StatusReport, seconds = 0): string[] {
  return report.pipelines.flatMap((pipeline, index) => [
    ...(index > 0 ? [''] : []),
    ...pipelineLines(
      pipeline,
      previous?.pipelines.find((before) => before.pid === pipeline.pid && before.source === pipeline.source),
      seconds,
    ),
  ]);
}
