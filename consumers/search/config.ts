import { z } from 'zod';
import { httpUrl, name } from '../../core/config/common.ts';

const documentSchema = z.strictObject({
  fields: z
    .array(z.string())
    .optional()
    .describe('Entity fields (of `entities.<entity>.fields`) the document carries; all of them when left out.'),
  rename: z.record(z.string(), z.string()).default({}).describe('Field -> name in the document.'),
  text: z.array(z.string()).default([]).describe('Fields joined into a full-text `text` field.'),
});

export const searchConfigSchema = z.strictObject({
  url: httpUrl.default('http://127.0.0.1:9200').describe('OpenSearch; `SHARDLINE_OPENSEARCH_URL` overrides it.'),
  username: z.string().optional(),
  password: z.string().optional(),
  indexPrefix: name
    .default('shardline')
    .describe(
      'The alias `<indexPrefix>-<entity>` that searches and writes use, in front of the indices `<indexPrefix>-<entity>-v<n>`.',
    ),
  replicas: z.number().int().nonnegative().default(1),
  shards: z.number().int().positive().default(1),
  documents: z
    .record(name, documentSchema)
    .default({ order: { rename: {}, text: ['category', 'status'] } })
    .describe('Entity -> how its search document is built. Entities not listed are not indexed.'),
});

export type SearchConfig = z.infer<typeof searchConfigSchema>;
export type DocumentTransform = SearchConfig['documents'][string];
