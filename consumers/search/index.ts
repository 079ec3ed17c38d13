import { Client } from '@opensearch-project/opensearch';
import type { ReportProblem } from '../../core/config/common.ts';
import type { EntityView } from '../../schemas/views.ts';
import { defineSink, type SinkContext } from '../runtime/sink-definition.ts';
import { searchConfigSchema, type SearchConfig } from './config.ts';
import { SearchSink } from './search-sink.ts';

export const openSearchClient = (config: SearchConfig): Client =>
  new Client({
    node: config.url,
    auth: config.username ? { username: config.username, password: config.password ?? '' } : undefined,
  });

/** A search sink writing the configured documents, into `targetIndex` instead of the aliases for a reindex. */
export const searchSink = (
  config: SearchConfig,
  context: Pick<SinkContext, 'group' | 'views'>,
  targetIndex?: Record<string, string>,
): SearchSink =>
  new SearchSink({
    group: context.group,
    client: openSearchClient(config),
    config,
    views: context.views,
    targetIndex,
    itemBackoff: { baseMs: 200, maxMs: 5_000, attempts: 10 },
  });

/** Every documented entity is declared, and every field a document names is one of its fields. */
function checkDocuments(config: SearchConfig, views: Record<string, EntityView>, report: ReportProblem): void {
  for (const [entity, transform] of Object.entries(config.documents)) {
    const fields = views[entity];
    if (!fields) {
      report(['documents', entity], `'${entity}' is not a declared entity`);
      continue;
    }
    const named: [string, string[]][] = [
      ['fields', transform.fields ?? []],
      ['text', transform.text],
      ['rename', Object.keys(transform.rename)],
    ];
    for (const [key, names] of named) {
      for (const field of names)
        if (!fields[field]) report(['documents', entity, key], `'${field}' is not a field of ${entity}`);
    }
  }
}

/** Search documents of entities, in OpenSearch. */
export const search = defineSink({
  name: 'search',
  // Bulk requests of a few MB: 2,000 documents indexed at 1.8 times the rate of 500.
  batchSize: 2_000,
  config: searchConfigSchema,
  stores: ['opensearch'],
  entities: (config) => Object.keys(config.documents),
  check: checkDocuments,
  create: (config, context) => searchSink(config, context),
});
