import type { ShardlineConfig } from '../../core/config/schema.ts';
import { SearchIndexes } from '../../consumers/search/indexes.ts';
import { reindex } from '../../consumers/search/reindex.ts';
import type { EntityView } from '../../schemas/views.ts';
import { kafkaOf, opensearchOf, reindexGroup, topicsFor } from '../pipeline.ts';

/**
 * Rebuilds an entity's search index from a replay of its topics and swaps the alias to it; refuses when a
 * topic's history was trimmed, unless `allowPartial` (`--allow-partial`).
 */
export async function reindexEntity(config: ShardlineConfig, entity: string, progress: (message: string) => void, options: { allowPartial?: boolean } = {}): Promise<{ from: string; to: string }> {
  if (!config.consumers.search.documents[entity]) throw new Error(`'${entity}' has no search documents configured (consumers.search.documents)`);
  const views = Object.fromEntries(Object.entries(config.entities).map(([name, { fields }]) => [name, fields as EntityView]));
  const groupId = `${config.consumers.search.groupId}-reindex-${Date.now().toString(36)}`;
  return reindex({
    entity,
    indexes: new SearchIndexes(opensearchOf(config), config.consumers.search, views),
    kafka: kafkaOf(config, 'reindex'),
    topics: topicsFor(config, [entity]),
    groupId,
    group: (index) => reindexGroup(config, entity, groupId, index),
    timeoutMs: 60 * 60_000,
    allowPartial: options.allowPartial,
  }, progress);
}
