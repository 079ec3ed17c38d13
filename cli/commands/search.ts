import type { Kafka } from 'kafkajs';
import type { ShardlineConfig } from '../config/schema.ts';
import { Progress } from '../../core/progress.ts';
import { SearchIndexes } from '../../consumers/search/indexes.ts';
import { reindex } from '../../consumers/search/reindex.ts';
import { openSearchClient } from '../../consumers/search/index.ts';
import { kafkaOf, reindexGroup, reindexTopics, viewsOf } from '../pipeline.ts';

/**
 * Rebuilds an entity's search index from a replay of its topics and swaps the alias to it; refuses when a
 * topic's history was trimmed, unless `allowPartial` (`--allow-partial`).
 */
export async function reindexEntity(
  config: ShardlineConfig,
  entity: string,
  progress: (message: string) => void,
  options: { allowPartial?: boolean } = {},
): Promise<{ from: string; to: string }> {
  if (!config.consumers.search.documents[entity])
    throw new Error(`'${entity}' has no search documents configured (consumers.search.documents)`);
  const groupId = `${config.consumers.search.groupId}-reindex-${Date.now().toString(36)}`;
  const kafka = kafkaOf(config, 'reindex');
  const topics = await reindexTopics(config, kafka, entity);
  const tracker = new Progress(`search reindex ${entity}`, undefined);
  const following = followReplay(kafka, groupId, topics, tracker);
  try {
    return await reindex(
      {
        entity,
        indexes: new SearchIndexes(openSearchClient(config.consumers.search), config.consumers.search, viewsOf(config)),
        kafka,
        topics,
        groupId,
        group: (index) => reindexGroup(config, entity, groupId, index, topics),
        timeoutMs: 60 * 60_000,
        allowPartial: options.allowPartial,
      },
      (message) => {
        tracker.interrupt();
        progress(message);
      },
    );
  } finally {
    await following.stop();
  }
}

/**
 * Follows a replay group through its topics once a second: records committed of the topics' records,
 * so a long reindex shows done of total, rate and time left (the replay itself reports only its phases).
 */
function followReplay(kafka: Kafka, groupId: string, topics: string[], progress: Progress): { stop(): Promise<void> } {
  let running = true;
  let reported = 0;
  const admin = kafka.admin();
  const connected = admin.connect();
  const poll = async () => {
    await connected;
    let total = 0;
    let done = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const end of ends) {
        total += Number(end.offset) - Number(end.low);
        const at = Number(
          committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1',
        );
        done += at < 0 ? 0 : Math.max(0, at - Number(end.low));
      }
    }
    progress.setTotal(total);
    if (done > reported) progress.advance(done - reported);
    reported = Math.max(reported, done);
  };
  const loop = (async () => {
    while (running) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })().catch(() => undefined);
  return {
    async stop() {
      running = false;
      await loop;
      // The replay may end between two polls: the last report says where it ended.
      await poll().catch(() => undefined);
      progress.finish();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
