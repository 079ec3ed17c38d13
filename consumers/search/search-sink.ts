import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { backoffDelay, type Backoff } from '../../core/backoff.ts';
import { ViewError, type EntityView } from '../../schemas/views.ts';
import type { Rejection, Sink, SinkBatch } from '../runtime/sink.ts';
import type { SearchConfig } from './config.ts';
import { documentFor, documentId } from './documents.ts';
import { APPLY_SCRIPT_ID, SearchIndexes } from './indexes.ts';

export interface SearchSinkOptions {
  group: string;
  client: Client;
  config: SearchConfig;
  views: Record<string, EntityView>;
  /** Write to these indices instead of the aliases (a reindex builds a new index before the swap). */
  targetIndex?: Record<string, string>;
  /** Per-item retries of 429 and 5xx answers inside one bulk request. */
  itemBackoff: Backoff;
  /** Bytes of one bulk request at most (DEFAULT_BULK_BYTES); a batch takes as many requests as it needs. */
  maxBulkBytes?: number;
}

/**
 * Half of what the smallest managed OpenSearch instances accept in one request (10 MiB on AWS's `.large` and
 * below; a self-run cluster's `http.max_content_length` is 100 MiB). A document is at most a DynamoDB item's
 * 400 KB, somewhat more as JSON, so it always fits alone.
 */
export const DEFAULT_BULK_BYTES = 5 * 1024 * 1024;

interface BulkItem {
  offset: string;
  action: Record<string, unknown>;
  body: Record<string, unknown>;
  /** A conditional write's change: sent again as the scripted update when the document changed since it was read (409). */
  conditionalOf?: Change;
}

/** One change to write: its document (or tombstone) and what the apply script compares. */
interface Change {
  offset: string;
  index: string;
  id: string;
  table: string;
  key: string;
  version: string;
  deleted: boolean;
  /** An INSERT: the item is new at the source, so its document is written without being read first. */
  inserted: boolean;
  doc: Record<string, unknown>;
  /** The table's sweep, read with the documents' versions (`writes`). */
  floor: string | null;
}

/** What a document holds now: its version and the sequence number and term a conditional write names. */
interface Current {
  version: string | undefined;
  seqNo: number;
  primaryTerm: number;
}

const PROGRESS_INDEX = 'shardline-progress';
/**
 * What a bulk answer needs to carry: each item's status and error, in order. Without the rest (index, id,
 * version, shards, sequence numbers) the answer is a fraction of the size OpenSearch writes and Node parses.
 */
export const BULK_ANSWER = 'items.*.status,items.*.error.type,items.*.error.reason';
/** Where a table's last re-snapshot sweep is kept, per index: below it no change is applied. */
const floorId = (index: string, table: string): string => `sweep:${index}:${table}`;

/** A document below the sweep's version becomes a tombstone one below it (versions compare by length, then text). */
const SWEEP_SCRIPT = `
  String current = ctx._source.shardline_version;
  String sweep = params.version;
  boolean older = current == null || current.length() < sweep.length() || (current.length() == sweep.length() && current.compareTo(sweep) < 0);
  if (!older) { ctx.op = 'noop'; return; }
  String table = ctx._source.table;
  String key = ctx._source.key;
  ctx._source.clear();
  ctx._source.table = table;
  ctx._source.key = key;
  ctx._source.shardline_version = params.below;
  ctx._source.shardline_deleted = true;
`;

const documentOf = (change: Change): string => `${change.index}\u0000${change.id}`;

/** The apply script's scripted upsert of a change. */
function scriptedUpdate(change: Change): BulkItem {
  const { offset, index, id, version, deleted, doc, table, key, floor } = change;
  return {
    offset,
    action: { update: { _index: index, _id: id, retry_on_conflict: 5 } },
    body: {
      scripted_upsert: true,
      upsert: {},
      script: { id: APPLY_SCRIPT_ID, params: { version, deleted, doc, table, key, floor } },
    },
  };
}

/** Versions compare as the apply script compares them: by length, then by text. */
const newer = (incoming: string, current: string): boolean =>
  incoming.length > current.length || (incoming.length === current.length && incoming > current);
const below = (version: string, floor: string | null): boolean => floor !== null && newer(floor, version);

/** Answers about the document itself (it does not fit the mapping, the script refuses its values). */
function refusesTheDocument(status: number, type: string | undefined): boolean {
  return status === 400 && type !== 'cluster_block_exception' && type !== 'index_closed_exception';
}

/**
 * Search documents in OpenSearch: one index (behind an alias) per entity, documents built by the
 * configured transform, written in bulk through a compare-and-set script on the item version.
 * Duplicates and out-of-order replays end at the newest document; 429 and 5xx are retried per item;
 * a document the mapping refuses goes to the dead-letter topic; a cluster that refuses every write
 * (blocks, permissions) fails the batch, which the runtime retries. Progress is a document per partition,
 * written after the bulk request: replaying a batch is harmless.
 */
export class SearchSink implements Sink {
  readonly name = 'opensearch-search';
  private readonly indexes: SearchIndexes;
  private readonly targets = new Map<string, string>();

  constructor(private readonly options: SearchSinkOptions) {
    this.indexes = new SearchIndexes(options.client, options.config, options.views);
  }

  async open(): Promise<void> {
    await this.indexes.ensureScript();
    for (const entity of Object.keys(this.options.config.documents)) {
      const target = this.options.targetIndex?.[entity];
      if (target) await this.indexes.create(entity, target);
      else await this.indexes.ensure(entity);
      this.targets.set(entity, target ?? this.indexes.alias(entity));
    }
    await this.options.client.indices
      .create({
        index: PROGRESS_INDEX,
        body: { settings: { number_of_shards: 1, number_of_replicas: this.options.config.replicas } },
      })
      .catch((error: { meta?: { body?: { error?: { type?: string } } } }) => {
        if (error.meta?.body?.error?.type !== 'resource_already_exists_exception') throw error;
      });
  }

  private progressId(topic: string, partition: number): string {
    return `${this.options.group}:${topic}:${partition}`;
  }

  async progress(topic: string, partition: number): Promise<string | undefined> {
    const response = await this.options.client
      .get({ index: PROGRESS_INDEX, id: this.progressId(topic, partition) })
      .catch((error: { meta?: { statusCode?: number } }) => {
        if (error.meta?.statusCode === 404) return undefined;
        throw error;
      });
    return (response?.body._source as { next_offset?: string } | undefined)?.next_offset;
  }

  async apply(batch: SinkBatch, deadLetter: (rejections: Rejection[]) => Promise<void>): Promise<void> {
    const { config, views } = this.options;
    const changes: Change[] = [];
    const rejections: Rejection[] = [];
    const sweeps: { index: string; table: string; version: string }[] = [];
    for (const { offset, key, event } of batch.records) {
      if (!event) continue;
      const transform = config.documents[event.entity];
      const index = this.targets.get(event.entity);
      if (!transform || !index) continue;
      if (event.op === 'SWEEP') {
        sweeps.push({ index, table: event.table, version: event.version });
        continue;
      }
      const deleted = event.op === 'REMOVE' || !event.after;
      let doc: Record<string, unknown> = {};
      try {
        if (!deleted) doc = documentFor(event, key, views[event.entity]!, transform);
      } catch (error) {
        if (!(error instanceof ViewError)) throw error;
        rejections.push({ offset, reason: `search ${event.entity}: ${error.message}` });
        continue;
      }
      changes.push({
        offset,
        index,
        id: documentId(event.table, key),
        table: event.table,
        key,
        version: event.version,
        deleted,
        inserted: event.op === 'INSERT',
        doc,
        floor: null,
      });
    }
    rejections.push(...(await this.bulk(await this.writes(changes))));
    for (const sweep of sweeps) await this.sweep(sweep);
    await deadLetter(rejections);
    await this.options.client.index({
      index: PROGRESS_INDEX,
      id: this.progressId(batch.topic, batch.partition),
      body: { next_offset: batch.nextOffset },
    });
  }

  /**
   * A re-snapshot did not find the table's documents below the sweep's version: each becomes a tombstone
   * one below it, so a re-read document (carrying the version itself) still wins when it arrives later.
   * A version conflict (a write racing the sweep) fails the batch, and the runtime runs it again.
   */
  private async sweep({ index, table, version }: { index: string; table: string; version: string }): Promise<void> {
    const { client } = this.options;
    // Stored first: from now on a change of this table below the sweep is refused (see the apply script).
    const id = floorId(index, table);
    const stored = (await this.readFloors([id])).get(id);
    if (!stored || BigInt(stored) < BigInt(version))
      await client.index({ index: PROGRESS_INDEX, id, body: { version }, refresh: true });
    await client.indices.refresh({ index });
    // Documents written while it runs conflict; passes repeat until one meets no conflict.
    for (let pass = 0; ; pass++) {
      const response = await client.updateByQuery({
        index,
        refresh: true,
        conflicts: 'proceed',
        body: {
          query: { bool: { filter: [{ term: { table } }], must_not: [{ term: { shardline_deleted: true } }] } },
          script: {
            lang: 'painless',
            source: SWEEP_SCRIPT,
            params: { version, below: (BigInt(version) - 1n).toString() },
          },
        },
      });
      if (((response.body as { version_conflicts?: number }).version_conflicts ?? 0) === 0) return;
      if (pass >= 10) throw new Error(`the sweep of ${table} in ${index} kept meeting version conflicts`);
    }
  }

  /**
   * The bulk items of a batch's changes. The apply script's compare-and-set, done here for the first
   * change of each document: the documents' versions and the tables' sweeps are read (one realtime mget;
   * members of a group share the sweeps through OpenSearch), a change that is not
   * newer, or below the table's sweep, is left out (the script's no-op), and a newer one is a plain write
   * conditional on the sequence number read (a create where there was no document). A document changed
   * in between answers 409 and gets the scripted update instead. Later changes of a document in the same
   * batch follow as scripted updates, in order. Without a script per document OpenSearch only indexes.
   * The document of an INSERT is not read: it is a create, and one that finds a document (a replay, an
   * item made again after its removal) answers 409 and takes the scripted path too; a backlog of new items
   * costs OpenSearch a realtime get per document less.
   */
  private async writes(changes: Change[]): Promise<BulkItem[]> {
    const first = new Map<string, Change>();
    for (const change of changes) if (!first.has(documentOf(change))) first.set(documentOf(change), change);
    const current = await this.currentDocuments(
      changes,
      [...first.values()].filter((change) => !change.inserted),
    );
    const items: BulkItem[] = [];
    for (const change of changes) {
      const found = current.get(documentOf(change));
      if (first.get(documentOf(change)) !== change || found === 'unreadable') {
        items.push(scriptedUpdate(change));
        continue;
      }
      if (
        below(change.version, change.floor) ||
        (found?.version !== undefined && !newer(change.version, found.version))
      )
        continue;
      const source = change.deleted
        ? { table: change.table, key: change.key, shardline_version: change.version, shardline_deleted: true }
        : { ...change.doc, shardline_version: change.version, shardline_deleted: false };
      const action = found
        ? {
            index: { _index: change.index, _id: change.id, if_seq_no: found.seqNo, if_primary_term: found.primaryTerm },
          }
        : { create: { _index: change.index, _id: change.id } };
      items.push({ offset: change.offset, action, body: source, conditionalOf: change });
    }
    return items;
  }

  /**
   * What each document holds now, `unreadable` where the index cannot answer (the bulk request then
   * answers as it did); and each change's floor, the sweep of its table, set on the change.
   */
  private async currentDocuments(changes: Change[], firsts: Change[]): Promise<Map<string, Current | 'unreadable'>> {
    const current = new Map<string, Current | 'unreadable'>();
    if (changes.length === 0) return current;
    const floorIds = [...new Set(changes.map((change) => floorId(change.index, change.table)))];
    const response = await this.options.client.mget({
      body: {
        docs: [
          ...floorIds.map((id) => ({ _index: PROGRESS_INDEX, _id: id, _source: ['version'] })),
          ...firsts.map((change) => ({ _index: change.index, _id: change.id, _source: ['shardline_version'] })),
        ],
      },
    });
    type Found = {
      found?: boolean;
      _seq_no?: number;
      _primary_term?: number;
      _source?: { shardline_version?: string; version?: string };
      error?: unknown;
    };
    const docs = (response.body as { docs: Found[] }).docs;
    const floors = new Map<string, string>();
    floorIds.forEach((id, position) => {
      const version = docs[position]?.found ? docs[position]._source?.version : undefined;
      if (version) floors.set(id, version);
    });
    for (const change of changes) change.floor = floors.get(floorId(change.index, change.table)) ?? null;
    docs.slice(floorIds.length).forEach((doc, position) => {
      const change = firsts[position]!;
      // Without its sequence number a write could not be conditional: such a document takes the scripted path.
      if (doc.error || (doc.found && (typeof doc._seq_no !== 'number' || typeof doc._primary_term !== 'number')))
        current.set(documentOf(change), 'unreadable');
      else if (doc.found)
        current.set(documentOf(change), {
          version: doc._source?.shardline_version,
          seqNo: doc._seq_no!,
          primaryTerm: doc._primary_term!,
        });
    });
    return current;
  }

  private async readFloors(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const response = await this.options.client.mget({ index: PROGRESS_INDEX, body: { ids } });
    const docs = (response.body as { docs: { _id: string; found?: boolean; _source?: { version?: string } }[] }).docs;
    return new Map(
      docs.filter((doc) => doc.found && doc._source?.version).map((doc) => [doc._id, doc._source!.version!]),
    );
  }

  /**
   * Sends the items, in requests of at most `maxBulkBytes`, retrying those answered 429 or 5xx; returns those
   * OpenSearch refused for good.
   */
  private async bulk(items: BulkItem[]): Promise<Rejection[]> {
    const rejections: Rejection[] = [];
    let pending = items;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const retry: BulkItem[] = [];
      for (const request of bulkRequests(pending, this.options.maxBulkBytes ?? DEFAULT_BULK_BYTES))
        await this.bulkRequest(request, retry, rejections);
      if (retry.length > 0 && attempt + 1 >= this.options.itemBackoff.attempts) {
        throw new Error(`${retry.length} documents still refused after ${attempt + 1} attempts (429/5xx/409)`);
      }
      pending = retry;
      if (pending.length > 0) await sleep(backoffDelay(this.options.itemBackoff, attempt));
    }
    return rejections;
  }

  /** One bulk request: items to try again go to `retry`, documents refused for good to `rejections`. */
  private async bulkRequest(
    { items, body }: { items: BulkItem[]; body: string },
    retry: BulkItem[],
    rejections: Rejection[],
  ): Promise<void> {
    // NDJSON text is sent as it is (the client's typing only names the array form).
    const response = await this.options.client.bulk({ body: body as never, filter_path: BULK_ANSWER });
    const results = (
      response.body as { items?: Record<string, { status: number; error?: { type?: string; reason?: string } }>[] }
    ).items;
    // Answers are matched to items by position: an answer that does not name every item says nothing of the rest.
    if (results?.length !== items.length)
      throw new Error(`OpenSearch answered ${results?.length ?? 0} of the ${items.length} items of a bulk request`);
    results.forEach((result, index) => {
      const outcome = Object.values(result)[0]!;
      const item = items[index]!;
      if (outcome.status < 300) return;
      if (outcome.status === 409 && item.conditionalOf) retry.push(scriptedUpdate(item.conditionalOf));
      else if (outcome.status === 429 || outcome.status >= 500 || outcome.status === 409) retry.push(item);
      else if (refusesTheDocument(outcome.status, outcome.error?.type)) {
        rejections.push({
          offset: item.offset,
          reason: `OpenSearch refused the document (${outcome.status} ${outcome.error?.type}): ${outcome.error?.reason ?? ''}`,
        });
      } else {
        // A write block, missing permissions or a missing index refuse every document alike: the batch
        // fails and is retried until someone fixes the cluster, instead of filling the dead-letter topic.
        throw new Error(
          `OpenSearch refuses writes (${outcome.status} ${outcome.error?.type}): ${outcome.error?.reason ?? ''}`,
        );
      }
    });
  }

  async close(): Promise<void> {}
}

/**
 * The items as bulk bodies (NDJSON) of at most `maxBytes` each, made one request at a time as they are sent;
 * an item larger than that goes alone.
 */
function* bulkRequests(items: BulkItem[], maxBytes: number): Generator<{ items: BulkItem[]; body: string }> {
  let current: { items: BulkItem[]; lines: string[]; bytes: number } = { items: [], lines: [], bytes: 0 };
  for (const item of items) {
    const lines = `${JSON.stringify(item.action)}\n${JSON.stringify(item.body)}`;
    const bytes = Buffer.byteLength(lines) + 1;
    if (current.items.length > 0 && current.bytes + bytes > maxBytes) {
      yield { items: current.items, body: `${current.lines.join('\n')}\n` };
      current = { items: [], lines: [], bytes: 0 };
    }
    current.items.push(item);
    current.lines.push(lines);
    current.bytes += bytes;
  }
  if (current.items.length > 0) yield { items: current.items, body: `${current.lines.join('\n')}\n` };
}
