import { defineSink } from '../runtime/sink-definition.ts';
import { AuditSink } from './audit-sink.ts';
import { auditConfigSchema } from './config.ts';

/** The audit log: every change of every entity, redacted, in ClickHouse. */
export const audit = defineSink({
  name: 'audit',
  config: auditConfigSchema,
  stores: ['clickhouse'],
  create: (config, context) =>
    new AuditSink({
      group: context.group,
      clickhouse: context.clickhouse(),
      table: config.table,
      retentionDays: config.retentionDays,
      redactions: config.redact,
      hashSalt: config.hashSalt,
      includeSnapshots: config.includeSnapshots,
    }),
});
