import type { ShardlineConfig } from '../../core/config/schema.ts';
import { loadCheckpoints } from '../../connector/checkpoints.ts';
import { kafkaOf, selectedSinks, topicsFor } from '../pipeline.ts';

export interface StatusReport {
  shards: { stream: string; shard: string; sequenceNumber: string; finished: boolean }[];
  /** From the running process's metrics, when one answers. */
  shardLag: { stream: string; shard: string; iteratorAgeSeconds: number; trimHeadroomSeconds: number }[];
  groups: { group: string; topic: string; partition: number; committed: string; end: string; lag: number }[];
  deadLetters: number;
}

function gauge(metrics: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}\\{stream="([^"]*)",shard="([^"]*)"\\} (\\S+)$`).exec(line);
    if (match) values.set(`${match[1]}|${match[2]}`, Number(match[3]));
  }
  return values;
}

/** Shard positions, iterator age, lag per group and partition, and dead letters. */
export async function status(config: ShardlineConfig): Promise<StatusReport> {
  const kafka = kafkaOf(config, 'status');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const checkpoints = existing.has(config.connector.topics.checkpoints) ? await loadCheckpoints(kafka, config.connector.topics.checkpoints, config.connector.name) : new Map();
    const shards = [...checkpoints].map(([key, checkpoint]) => {
      const [, stream = '', shard = ''] = key.split('|');
      return { stream, shard, sequenceNumber: checkpoint.sequenceNumber ?? '', finished: checkpoint.finished };
    });
    const metrics = await fetch(`http://${config.http.host}:${config.http.port}/metrics`).then((response) => response.text()).catch(() => '');
    const ages = gauge(metrics, 'shardline_connector_iterator_age_seconds');
    const headroom = gauge(metrics, 'shardline_connector_trim_headroom_seconds');
    const shardLag = [...ages].map(([key, age]) => {
      const [stream = '', shard = ''] = key.split('|');
      return { stream, shard, iteratorAgeSeconds: age, trimHeadroomSeconds: headroom.get(key) ?? 0 };
    });
    const groups: StatusReport['groups'] = [];
    const topicEnds = new Map<string, Awaited<ReturnType<typeof admin.fetchTopicOffsets>>>();
    for (const topic of topicsFor(config).filter((candidate) => existing.has(candidate))) topicEnds.set(topic, await admin.fetchTopicOffsets(topic));
    for (const sink of selectedSinks(config)) {
      const groupId = config.consumers[sink].groupId;
      for (const [topic, ends] of topicEnds) {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const end of ends) {
          const at = committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
          const from = Number(at) < 0 ? Number(end.low) : Number(at);
          groups.push({ group: groupId, topic, partition: end.partition, committed: at, end: end.offset, lag: Math.max(0, Number(end.offset) - from) });
        }
      }
    }
    let deadLetters = 0;
    if (existing.has(config.connector.topics.deadLetter)) {
      for (const end of await admin.fetchTopicOffsets(config.connector.topics.deadLetter)) deadLetters += Number(end.high) - Number(end.low);
    }
    return { shards, shardLag, groups, deadLetters };
  } finally {
    await admin.disconnect();
  }
}
