import { z } from 'zod';
import { httpUrl, name } from '../../core/config/common.ts';

const documentSchema = z.strictObject({
  /** Entity fields (of `entities.<entity>.fields`) the document carries; all of them when left out. */
  fields: z.array(z.string()).optional(),
  /** Field -> name in the document. */
  rename: z.record(z.string(), z.string()).default({}),
  /** Fields joined into a full-text `text` field. */
  text: z.array(z.string()).default([]),
});

export const searchConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  groupId: name.default('shardline-search'),
  /** SHARDLINE_OPENSEARCH_URL overrides it. */
  url: httpUrl.default('http://127.0.0.1:9200'),
  username: z.string().optional(),
  password: z.string().optional(),
  indexPrefix: name.default('shardline'),
  replicas: z.number().int().nonnegative().default(1),
  shards: z.number().int().positive().default(1),
  /** Entity -> how its search document is built. Entities not listed are not indexed. */
  documents: z.record(name, documentSchema).default({ order: { rename: {}, text: ['category', 'status'] } }),
});

export type SearchConfig = z.infer<typeof searchConfigSchema>;
export type DocumentTransform = SearchConfig['documents'][string];
