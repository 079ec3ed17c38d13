import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { plainImage } from '../../schemas/plain.ts';
import type { Sink, SinkBatch } from '../runtime/sink.ts';

const applyBatchScript = readFileSync(new URL('./apply-batch.lua', import.meta.url), 'utf8');

/** Raises an entity's sweep to a version (decimal integer text), never lowers it. */
const RAISE_SWEEP = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or #ARGV[2] > #current or (#ARGV[2] == #current and ARGV[2] > current) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

export interface CacheSinkOptions {
  group: string;
  url: string;
  ttlSeconds: number;
  keyPrefix: string;
  /** The table whose changes a topic carries: its offsets live in that table's hash slot. */
  tableOf: (topic: string) => string;
  /** A command without an answer fails after this long (default COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
}

/**
 * Far above what a batch's script takes (milliseconds for hundreds of items). Without it, a Redis that takes
 * connections and stops answering (frozen, a stalled proxy) held the group's batch, or its start, for ever.
 */
export const COMMAND_TIMEOUT_MS = 30_000;

/**
 * The Redis item cache. Key scheme: `<prefix>:{<table>}:<item key>`, a hash with `doc` (the item as
 * JSON, numbers as exact strings), `v` (its version) and `deleted` for a removed item; for example
 * `HGET "item:{orders}:PK=S:ORDER#1|SK=S:ORDER#1" doc`. Entries expire `ttlSeconds` after their last
 * change; each item's newest version is also kept in `shardline:versions:{<table>}:<prefix>`, which never
 * expires (about a hundred bytes per item ever seen), so no replay brings back a deleted item or an
 * older document (see apply-batch.lua). The braces are a hash tag: one table's items, versions and the
 * group's offsets share a slot, so one script can update a batch and its progress at once on Redis Cluster too.
 */
export class CacheSink implements Sink {
  readonly name = 'redis-cache';
  private readonly redis: Redis & { applyBatch(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number> };

  constructor(private readonly options: CacheSinkOptions) {
    // Fail fast while Redis is down or silent: the runtime retries the whole batch with backoff (a script that
    // ran before its answer timed out runs again harmlessly: versions and offsets make it idempotent).
    this.redis = new Redis(options.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    }) as typeof this.redis;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('applyBatch', { lua: applyBatchScript });
  }

  static itemKey(prefix: string, table: string, key: string): string {
    return `${prefix}:{${table}}:${key}`;
  }

  private offsetsKey(table: string): string {
    return `shardline:offsets:{${table}}:${this.options.group}`;
  }

  /** Every item's newest version, never expiring: shared by all groups that write this cache. */
  private sweepsKey(table: string): string {
    return `shardline:sweeps:{${table}}:${this.options.keyPrefix}`;
  }

  private versionsKey(table: string): string {
    return `shardline:versions:{${table}}:${this.options.keyPrefix}`;
  }

  async open(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
  }

  async progress(topic: string, partition: number): Promise<string | undefined> {
    return this.reconnectingOnTimeout(
      async () =>
        (await this.redis.hget(this.offsetsKey(this.options.tableOf(topic)), `${topic}:${partition}`)) ?? undefined,
    );
  }

  apply(batch: SinkBatch): Promise<void> {
    return this.reconnectingOnTimeout(() => this.write(batch));
  }

  /**
   * ioredis keeps the connection after a command timed out, so a peer that holds the connection open and stopped
   * answering (a frozen Redis, a stalled proxy) would time out every retry as well: the next call goes over a new one.
   */
  private async reconnectingOnTimeout<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if ((error as Error).message === 'Command timed out') this.redis.disconnect(true);
      throw error;
    }
  }

  private async write(batch: SinkBatch): Promise<void> {
    const byTable = new Map<string, { keys: string[]; args: string[] }>();
    const ttl = String(this.options.ttlSeconds * 1000);
    for (const { key, event } of batch.records) {
      if (!event) continue;
      // Before the batch's progress is stored, so a crash replays it.
      if (event.op === 'SWEEP') {
        await this.sweep(event.table, event.entity, event.version, ttl);
        continue;
      }
      const entry = byTable.get(event.table) ?? { keys: [], args: [] };
      entry.keys.push(CacheSink.itemKey(this.options.keyPrefix, event.table, key));
      const removed = event.op === 'REMOVE' || !event.after;
      entry.args.push(
        event.version,
        removed ? 'del' : 'set',
        removed ? '' : JSON.stringify(plainImage(event.after)),
        event.entity,
      );
      byTable.set(event.table, entry);
    }
    const home = this.options.tableOf(batch.topic);
    const field = `${batch.topic}:${batch.partition}`;
    // A topic normally carries one table. Items of another table live in another slot: they are applied
    // first, each table with its offsets, and the topic's own table last, so progress never runs ahead.
    const tables = [...byTable.keys()].filter((table) => table !== home).concat(home);
    for (const table of tables) {
      const { keys, args } = byTable.get(table) ?? { keys: [], args: [] };
      await this.redis.applyBatch(
        keys.length + 3,
        this.offsetsKey(table),
        this.versionsKey(table),
        this.sweepsKey(table),
        ...keys,
        field,
        batch.nextOffset,
        ttl,
        ...args,
      );
    }
  }

  /**
   * A re-snapshot did not find the table's items whose version is below `version`. The sweep is stored
   * first, so any change of the entity below it that arrives later is refused; then the items cached now
   * below it get a deletion one below it (a re-read row, carrying `version` itself, wins when it comes).
   * The versions hash does not say which entity an item is: every entity of the table is swept, and each
   * entity's own re-read rows restore what exists (the cache reads every entity's topic).
   */
  private async sweep(table: string, entity: string, version: string, ttl: string): Promise<void> {
    const versionsKey = this.versionsKey(table);
    const below = (BigInt(version) - 1n).toString();
    await this.redis.eval(RAISE_SWEEP, 1, this.sweepsKey(table), entity, version);
    let cursor = '0';
    do {
      const [next, entries] = await this.redis.hscan(versionsKey, cursor, 'COUNT', 500);
      cursor = next;
      const keys: string[] = [];
      for (let index = 0; index < entries.length; index += 2) {
        if (BigInt(entries[index + 1]!) < BigInt(version)) keys.push(entries[index]!);
      }
      // No entity for these deletions: they are the sweep's own, below it by design.
      if (keys.length > 0)
        await this.redis.applyBatch(
          keys.length + 3,
          this.offsetsKey(table),
          versionsKey,
          this.sweepsKey(table),
          ...keys,
          '',
          '',
          ttl,
          ...keys.flatMap(() => [below, 'del', '', '']),
        );
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
