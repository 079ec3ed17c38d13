import type { Client } from '@opensearch-project/opensearch';
import type { EntityView } from '../../schemas/views.ts';
import type { SearchConfig } from './config.ts';
import { mappingFor } from './documents.ts';

export const APPLY_SCRIPT_ID = 'shardline-apply-change-v2';

/**
 * Compare-and-set on the item's version (a decimal integer string of up to 77 digits, too long for
 * OpenSearch's 63-bit external versions): a change is applied only when it is newer. A delete leaves a
 * tombstone document that keeps the version, so a late replay of an older write cannot bring the item
 * back, however long ago the delete happened (no `index.gc_deletes` window to outlive). A change below
 * `params.floor` (the table's last re-snapshot sweep) is of an item the re-scan did not find: it is refused.
 */
const APPLY_SCRIPT = `
  String current = ctx._source.shardline_version;
  String incoming = params.version;
  String floor = params.floor;
  boolean swept = floor != null && (incoming.length() < floor.length() || (incoming.length() == floor.length() && incoming.compareTo(floor) < 0));
  boolean newer = current == null || incoming.length() > current.length()
    || (incoming.length() == current.length() && incoming.compareTo(current) > 0);
  if (swept || !newer) { ctx.op = 'none'; return; }
  ctx._source.clear();
  if (params.deleted) {
    ctx._source.table = params.table;
    ctx._source.key = params.key;
  } else {
    ctx._source.putAll(params.doc);
  }
  ctx._source.shardline_version = incoming;
  ctx._source.shardline_deleted = params.deleted;
`;

/** Indices behind aliases: `<prefix>-<entity>` is the alias searches and writes use; `-v<n>` are the indices. */
export class SearchIndexes {
  constructor(
    private readonly client: Client,
    private readonly config: SearchConfig,
    private readonly views: Record<string, EntityView>,
  ) {}

  alias(entity: string): string {
    return `${this.config.indexPrefix}-${entity}`;
  }

  async ensureScript(): Promise<void> {
    await this.client.putScript({ id: APPLY_SCRIPT_ID, body: { script: { lang: 'painless', source: APPLY_SCRIPT } } });
  }

  /** The index the alias points at, creating the first one when there is none. */
  async ensure(entity: string): Promise<string> {
    const alias = this.alias(entity);
    const existing = await this.client.indices
      .getAlias({ name: alias })
      .catch((error: { meta?: { statusCode?: number } }) => {
        if (error.meta?.statusCode === 404) return undefined;
        throw error;
      });
    const current = existing ? Object.keys(existing.body)[0] : undefined;
    if (current) return current;
    const index = `${alias}-v1`;
    await this.create(entity, index);
    await this.point(entity, undefined, index);
    return index;
  }

  async create(entity: string, index: string): Promise<void> {
    const transform = this.config.documents[entity]!;
    await this.client.indices
      .create({
        index,
        body: {
          settings: { number_of_shards: this.config.shards, number_of_replicas: this.config.replicas },
          mappings: mappingFor(this.views[entity]!, transform) as never,
        },
      })
      .catch((error: { meta?: { body?: { error?: { type?: string } } } }) => {
        if (error.meta?.body?.error?.type !== 'resource_already_exists_exception') throw error;
      });
  }

  /** Moves the alias from one index to another in one step; searches never see tombstones through it. */
  async point(entity: string, from: string | undefined, to: string): Promise<void> {
    const alias = this.alias(entity);
    const actions: unknown[] = [
      { add: { index: to, alias, is_write_index: true, filter: { term: { shardline_deleted: false } } } },
    ];
    if (from) actions.unshift({ remove: { index: from, alias } });
    await this.client.indices.updateAliases({ body: { actions } as never });
  }

  /** The next index version after the current one, for a reindex. */
  async next(entity: string): Promise<{ current: string; next: string }> {
    const current = await this.ensure(entity);
    const version = Number(/-v(\d+)$/.exec(current)?.[1] ?? 1);
    return { current, next: `${this.alias(entity)}-v${version + 1}` };
  }
}
