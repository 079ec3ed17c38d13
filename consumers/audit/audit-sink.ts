import type { ClickHouseClient } from '@clickhouse/client';
import { canonicalKey, type ChangeEvent } from '../../schemas/change-event.ts';
import { plainImage } from '../../schemas/plain.ts';
import { faultPoint } from '../../core/fault.ts';
import { insertJsonRows } from '../clickhouse/insert.ts';
import { ClickHouseProgress } from '../clickhouse/progress.ts';
import type { Sink, SinkBatch } from '../runtime/sink.ts';
import { redact, redactKeys, type Redactions } from './redaction.ts';

export interface AuditSinkOptions {
  group: string;
  clickhouse: ClickHouseClient;
  table: string;
  retentionDays: number;
  redactions: Redactions;
  /** Salt for `hash` redactions. */
  hashSalt: string;
  /** Snapshot rows are observations, not changes: off by default. */
  includeSnapshots: boolean;
}

export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

/** Equal as JSON: plain values compare directly, only lists and maps through their text. */
const sameValue = (a: unknown, b: unknown): boolean =>
  a === b ||
  (typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    JSON.stringify(a) === JSON.stringify(b));

/** Field-level changes between two plain images, in field order. */
export function diff(before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldChange[] {
  const fields = after ? Object.keys(after) : [];
  if (before) for (const field of Object.keys(before)) if (!after || !Object.hasOwn(after, field)) fields.push(field);
  const changes: FieldChange[] = [];
  for (const field of fields.sort()) {
    const [old, current] = [before?.[field], after?.[field]];
    if (!sameValue(old, current)) changes.push({ field, old: old ?? null, new: current ?? null });
  }
  return changes;
}

/**
 * The audit trail: one entry per source change — who, what (field by field), when, which event — in a
 * ClickHouse table ordered by the change's own identity, so a replay cannot add a second entry (the
 * table collapses equal keys; reads use FINAL). Sensitive fields are dropped, masked or hashed before
 * anything is stored, key attributes too: `entity_key` is then the canonical key of the redacted key
 * (`PK=S:sha256:…|SK=S:ORDER#1`) and `key_values` hold the redacted values, so a hashed key is found by
 * its hash (`shardline audit sha256:…`, the text the log shows), a masked or dropped one not at all.
 * Entries expire after the retention period.
 */
export class AuditSink implements Sink {
  readonly name = 'clickhouse-audit';
  private readonly store: ClickHouseProgress;

  constructor(private readonly options: AuditSinkOptions) {
    this.store = new ClickHouseProgress(options.clickhouse, options.group);
  }

  async open(): Promise<void> {
    await this.store.open();
    await this.options.clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.options.table} (
        table String,
        entity LowCardinality(String),
        entity_key String,
        key_values Array(String),
        event_id String,
        op LowCardinality(String),
        at DateTime64(6, 'UTC'),
        version String,
        user_type String,
        user_principal String,
        ttl_delete Bool,
        changes String,
        old_values Nullable(String),
        new_values Nullable(String),
        source_kind LowCardinality(String),
        source_stream String,
        source_shard String,
        source_sequence String
      ) ENGINE = ReplacingMergeTree
      ORDER BY (table, entity_key, event_id)
      TTL toDateTime(at) + INTERVAL ${this.options.retentionDays} DAY`,
    });
  }

  progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.read(topic, partition);
  }

  // Every change can be recorded: the audit sink never rejects a record.
  async apply(batch: SinkBatch): Promise<void> {
    const rows = batch.records
      .filter(
        (record): record is typeof record & { event: ChangeEvent } =>
          record.event !== null &&
          record.event.op !== 'SWEEP' &&
          (this.options.includeSnapshots || record.event.op !== 'SNAPSHOT'),
      )
      .map(({ event }) => this.entry(event));
    await insertJsonRows(this.options.clickhouse, { table: this.options.table, rows, format: 'JSONEachRow' });
    faultPoint('audit.after-insert');
    await this.store.write(batch.topic, batch.partition, batch.nextOffset);
  }

  /** The row of one change, as `apply` inserts it. */
  entry(event: ChangeEvent) {
    const { redactions, hashSalt } = this.options;
    const keys = redactKeys(event.keys, redactions, hashSalt);
    const before = redact(plainImage(event.before), redactions, hashSalt);
    const after = redact(plainImage(event.after), redactions, hashSalt);
    const micros = BigInt(event.source.approximateCreationTimeMicros);
    return {
      table: event.table,
      entity: event.entity,
      entity_key: canonicalKey(keys),
      key_values: Object.values(plainImage(keys) ?? {}).map(String),
      event_id: event.eventId,
      op: event.op,
      at: `${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, '0')}`,
      version: event.version,
      user_type: event.source.userIdentity?.type ?? '',
      user_principal: event.source.userIdentity?.principalId ?? '',
      ttl_delete: event.source.ttlDelete,
      changes: JSON.stringify(diff(before, after)),
      old_values: before ? JSON.stringify(before) : null,
      new_values: after ? JSON.stringify(after) : null,
      source_kind: event.source.kind,
      source_stream: event.source.stream,
      source_shard: event.source.shardId,
      source_sequence: event.source.sequenceNumber,
    };
  }

  async close(): Promise<void> {
    await this.store.flush();
  }
}
